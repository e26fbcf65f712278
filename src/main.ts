#!/usr/bin/env bun
// sluice: turns the JSONL logs of AI coding agents into one queryable SQLite database.
//
// citty defines the commands and renders --help; the dispatch below is our own so that exit codes
// follow sluice's errors (2 for bad input, 1 for failures) and a bare "-" can name stdin.

import { defineCommand, runCommand, type ArgsDef, type CommandDef } from "citty";
import { helpMeta, renderHelp } from "./cli/help";
import { checkWords } from "./cli/strict";
import { didYouMean } from "./runtime/words";
import { useConfigFlag } from "./runtime/config";
import { describeSqliteError, SluiceError, EXIT_FAILURE, EXIT_USAGE } from "./runtime/errors";
import { drainStdout } from "./runtime/exec-self";
import { log } from "./runtime/log";
import { saveErrorDetails } from "./runtime/paths";
import { VERSION } from "./runtime/version";

const main = defineCommand({
  meta: helpMeta({
    name: "sluice",
    version: VERSION,
    description: "Turn the JSONL logs of AI coding agents into one SQLite database, exactly once.",
    examples: [
      "sluice index && sluice report daily                  # Claude Code and Codex usage by day, from ~/.claude and ~/.codex",
      "sluice ingest ~/capture/sse_lines.jsonl --follow      # a proxy's raw API streams, kept current",
      "sluice <command> --help                              # what a command does, its flags and examples",
    ],
  }),
  subCommands: {
    ingest: () => import("./cli/ingest").then((m) => m.default),
    status: () => import("./cli/status").then((m) => m.default),
    stats: () => import("./cli/stats").then((m) => m.default),
    check: () => import("./cli/check").then((m) => m.default),
    backup: () => import("./cli/backup").then((m) => m.default),
    vacuum: () => import("./cli/vacuum").then((m) => m.default),
    service: () => import("./cli/service").then((m) => m.default),
    index: () => import("./cli/index-cmd").then((m) => m.default),
    report: () => import("./cli/report").then((m) => m.default),
    prices: () => import("./cli/prices").then((m) => m.default),
    statusline: () => import("./cli/statusline").then((m) => m.default),
    push: () => import("./cli/push").then((m) => m.default),
    devices: () => import("./cli/devices").then((m) => m.default),
    export: () => import("./cli/export").then((m) => m.default),
    search: () => import("./cli/search").then((m) => m.default),
    show: () => import("./cli/show").then((m) => m.default),
    mcp: () => import("./cli/mcp").then((m) => m.default),
    serve: () => import("./cli/serve").then((m) => m.default),
  },
});

type Loader = () => Promise<CommandDef<any>> | CommandDef<any>;

/** The command a user's leading words name (a subcommand's subcommand too), and the words after. */
async function resolveCommand(argv: string[]) {
  let cmd: CommandDef<any> = main;
  const names: string[] = [];
  let i = 0;
  for (; i < argv.length && !argv[i]!.startsWith("-"); i++) {
    const subs = (await cmd.subCommands) as Record<string, Loader> | undefined;
    if (!subs) break;
    const sub = subs[argv[i]!];
    if (!sub) {
      const where = names.length ? `'sluice ${names.join(" ")}'` : "sluice";
      const hint = didYouMean(argv[i]!, Object.keys(subs)) || `; see '${[...["sluice"], ...names].join(" ")} --help'`;
      throw new SluiceError(`unknown command '${argv[i]}' for ${where}${hint}`, EXIT_USAGE);
    }
    names.push(argv[i]!);
    cmd = await (typeof sub === "function" ? sub() : sub);
  }
  return { cmd, names, rest: argv.slice(i) };
}

async function dispatch(argv: string[]) {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const { cmd, names, rest } = await resolveCommand(argv);
  useConfigFlag(rest);
  if (argv.length === 0 || rest.includes("--help") || rest.includes("-h") || (cmd.subCommands && !cmd.run)) {
    process.stdout.write(await renderHelp(cmd, names));
    return;
  }
  checkWords(names.join(" "), ((await cmd.args) ?? {}) as ArgsDef, rest);
  // citty's parser drops a bare "-"; /dev/stdin means the same to `ingest`.
  await runCommand(main, { rawArgs: argv.map((a) => (a === "-" ? "/dev/stdin" : a)) });
}

/**
 * Flags every command takes, read here and taken out of the words: --no-color (as NO_COLOR) and
 * --debug (the whole trace of an unexpected error, as SLUICE_DEBUG=1).
 */
function globalFlags(argv: string[]): string[] {
  const words: string[] = [];
  for (const w of argv) {
    if (w === "--no-color") process.env.SLUICE_NO_COLOR = "1";
    else if (w === "--debug") process.env.SLUICE_DEBUG = "1";
    else words.push(w);
  }
  return words;
}

try {
  await dispatch(globalFlags(process.argv.slice(2)));
  // Nothing is left to do: do not wait for idle handles (a stdin pump, a directory watch).
  await drainStdout();
  // a command that finished with a verdict (check, stats) sets process.exitCode
  process.exit(process.exitCode ?? 0);
} catch (err) {
  // SLUICE_DEBUG=1: the whole trace too, for a bug report.
  if (process.env.SLUICE_DEBUG) console.error((err as Error)?.stack ?? err);
  if (err instanceof SluiceError) {
    log.error(err.message);
    process.exit(err.exitCode);
  }
  const sqlite = describeSqliteError(err);
  if (sqlite) {
    log.error(sqlite.message);
    process.exit(sqlite.exitCode);
  }
  if ((err as { name?: string })?.name === "CLIError") {
    log.error(`${(err as Error).message}; see 'sluice ${process.argv[2] ?? ""} --help'`);
    process.exit(EXIT_USAGE);
  }
  const details = saveErrorDetails(err);
  const message = String((err as Error)?.message ?? err).split("\n")[0];
  log.error(`unexpected error: ${message}${details ? ` (details in ${details}; --debug prints them)` : " (--debug prints the details)"}; please report it`);
  process.exit(EXIT_FAILURE);
}
