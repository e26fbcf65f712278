#!/usr/bin/env bun
// sluice: turns the JSONL logs of AI coding agents into one queryable SQLite database.
//
// citty defines the commands and renders --help; the dispatch below is our own so that exit codes
// follow sluice's errors (2 for bad input, 1 for failures) and a bare "-" can name stdin.

import { defineCommand, runCommand, showUsage, type ArgsDef, type CommandDef } from "citty";
import { checkWords, didYouMean } from "./cli/strict";
import { describeSqliteError, SluiceError, EXIT_FAILURE, EXIT_USAGE } from "./runtime/errors";
import { drainStdout } from "./runtime/exec-self";
import { log } from "./runtime/log";
import { VERSION } from "./runtime/version";

const main = defineCommand({
  meta: { name: "sluice", version: VERSION, description: "Turn the JSONL logs of AI coding agents into one SQLite database, exactly once." },
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
  },
});

type Loader = () => Promise<CommandDef<any>> | CommandDef<any>;

/** The command a user's leading words name (a subcommand's subcommand too), its parent, and the words after. */
async function resolveCommand(argv: string[]) {
  let cmd: CommandDef<any> = main, parent: CommandDef<any> | undefined;
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
    parent = cmd;
    cmd = await (typeof sub === "function" ? sub() : sub);
  }
  return { cmd, parent, names, rest: argv.slice(i) };
}

async function dispatch(argv: string[]) {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const { cmd, parent, names, rest } = await resolveCommand(argv);
  if (argv.length === 0 || rest.includes("--help") || rest.includes("-h") || (cmd.subCommands && !cmd.run)) {
    await showUsage(cmd, parent);
    return;
  }
  checkWords(names.join(" "), ((await cmd.args) ?? {}) as ArgsDef, rest);
  // citty's parser drops a bare "-"; /dev/stdin means the same to `ingest`.
  await runCommand(main, { rawArgs: argv.map((a) => (a === "-" ? "/dev/stdin" : a)) });
}

try {
  await dispatch(process.argv.slice(2));
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
  log.error(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(EXIT_FAILURE);
}
