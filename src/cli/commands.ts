// Every command, each loaded only when named: the root entry point's (src/cli/entry/root.ts), for
// the bare word, --help and a mistyped command. Its keys are src/cli/entry/commands.ts's words.

import type { CommandWord } from "./entry/commands";
import type { Loader } from "./run";

export const ALL_COMMANDS: Record<CommandWord, Loader> = {
  ingest: () => import("./ingest").then((m) => m.default),
  status: () => import("./status").then((m) => m.default),
  stats: () => import("./stats").then((m) => m.default),
  check: () => import("./check").then((m) => m.default),
  backup: () => import("./backup").then((m) => m.default),
  vacuum: () => import("./vacuum").then((m) => m.default),
  service: () => import("./service").then((m) => m.default),
  index: () => import("./index-cmd").then((m) => m.default),
  report: () => import("./report").then((m) => m.default),
  prices: () => import("./prices").then((m) => m.default),
  statusline: () => import("./statusline").then((m) => m.default),
  push: () => import("./push").then((m) => m.default),
  devices: () => import("./devices").then((m) => m.default),
  export: () => import("./export").then((m) => m.default),
  search: () => import("./search").then((m) => m.default),
  show: () => import("./show").then((m) => m.default),
  mcp: () => import("./mcp").then((m) => m.default),
  serve: () => import("./serve").then((m) => m.default),
};
