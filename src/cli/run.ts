// Runs a command line. citty defines the commands and renders --help; the dispatch here is our own
// so that exit codes follow sluice's errors (2 for bad input, 1 for failures) and a bare "-" can
// name stdin. Each entry point (src/cli/entry/) runs it with the commands it was built with: the
// root one with all of them, a command's own with that command alone.

import { defineCommand, runCommand, type ArgsDef, type CommandDef, type SubCommandsDef } from "citty";
import { helpMeta, renderHelp } from "./help";
import { checkWords } from "./strict";
import { didYouMean } from "../runtime/words";
import { useConfigFlag } from "../runtime/config";
import { describeSqliteError, SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { log } from "../runtime/log";
import { saveErrorDetails } from "../runtime/paths";
import { VERSION } from "../runtime/version";
import { drainStdout, writeOut } from "../runtime/stdio";
import { GLOBAL_FLAGS } from "./entry/commands";

/** A command, or what loads it. */
export type Loader = SubCommandsDef[string];

/** The root command, with the subcommands an entry point was built with. */
function rootCommand(subCommands: Record<string, Loader>): CommandDef<any> {
  return defineCommand({
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
    subCommands,
  });
}

/** The command a user's leading words name (a subcommand's subcommand too), and the words after. */
async function resolveCommand(root: CommandDef<any>, argv: string[]) {
  let cmd = root;
  const names: string[] = [];
  let i = 0;
  for (; i < argv.length && !argv[i]!.startsWith("-"); i++) {
    const subs = (await cmd.subCommands) as SubCommandsDef | undefined;
    if (!subs) break;
    const sub = Object.hasOwn(subs, argv[i]!) ? subs[argv[i]!] : undefined; // not "constructor" from the prototype
    if (!sub) {
      const where = names.length ? `'sluice ${names.join(" ")}'` : "sluice";
      const hint = didYouMean(argv[i]!, Object.keys(subs)) || `; see '${[...["sluice"], ...names].join(" ")} --help'`;
      throw new SluiceError(`unknown command '${argv[i]}' for ${where}${hint}`, EXIT_USAGE);
    }
    names.push(argv[i]!);
    cmd = (await (typeof sub === "function" ? sub() : sub)) as CommandDef<any>;
  }
  return { cmd, names, rest: argv.slice(i) };
}

async function dispatch(root: CommandDef<any>, argv: string[]) {
  const { cmd, names, rest } = await resolveCommand(root, argv);
  useConfigFlag(rest);
  if (argv.length === 0 || rest.includes("--help") || rest.includes("-h") || (cmd.subCommands && !cmd.run)) {
    writeOut(await renderHelp(cmd, names));
    return;
  }
  checkWords(names.join(" "), ((await cmd.args) ?? {}) as ArgsDef, rest);
  // citty's parser drops a bare "-"; /dev/stdin means the same to `ingest`.
  await runCommand(root, { rawArgs: argv.map((a) => (a === "-" ? "/dev/stdin" : a)) });
}

/**
 * Flags every command takes, read here and taken out of the words: --no-color (as NO_COLOR) and
 * --debug (the whole trace of an unexpected error, as SLUICE_DEBUG=1). (src/main.ts answers
 * --version before any entry point loads.)
 */
function globalFlags(argv: string[]): string[] {
  const words: string[] = [];
  for (const w of argv) {
    if (Object.hasOwn(GLOBAL_FLAGS, w)) process.env[GLOBAL_FLAGS[w]!] = "1";
    else words.push(w);
  }
  return words;
}

/** Exits with the code and the one line an error calls for. */
function fail(err: unknown): never {
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

/** Runs this process's command line with `subCommands`, and exits. */
export async function runCli(subCommands: Record<string, Loader>): Promise<never> {
  try {
    await dispatch(rootCommand(subCommands), globalFlags(process.argv.slice(2)));
    // Nothing is left to do: do not wait for idle handles (a stdin pump, a directory watch).
    await drainStdout();
    // a command that finished with a verdict (check, stats) sets process.exitCode
    process.exit(process.exitCode ?? 0);
  } catch (err) {
    fail(err);
  }
}
