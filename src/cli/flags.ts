// Flags shared by every command, defined once.
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { defaultDatabasePath } from "../runtime/paths";
import { config } from "../runtime/config";
import { isTerminal } from "../runtime/stdio";

export const dbArg = {
  db: {
    type: "string",
    description: "Database file (default: $SLUICE_DB, else $XDG_DATA_HOME/sluice/sluice.db; ~/Library/Application Support/sluice/sluice.db on macOS)",
    valueHint: "path",
    group: "database",
  },
  config: { type: "string", description: "Config file of defaults (default: $SLUICE_CONFIG, else ~/.config/sluice/config.json)", valueHint: "file", group: "database" },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "Print the result as one JSON object on stdout", default: false, group: "output" },
} as const;

export const progressArg = {
  progress: { type: "boolean", description: "Show a progress line (default: when stderr is a terminal)", default: undefined, group: "output" },
} as const;

export function wantProgress(arg: boolean | undefined): boolean {
  return arg ?? isTerminal(2);
}

/** --db, else $SLUICE_DB, else the config file's, else the platform's default. */
export function resolveDbPath(arg: string | undefined): string {
  if (arg && arg.length) return arg;
  return process.env.SLUICE_DB || config().db || defaultDatabasePath();
}

/** Parses a whole-number flag, with a one-line error naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new SluiceError(`--${name} ${value} is not a whole number >= ${min}; see --help`);
  return n;
}
