// Flags shared by every command, defined once.
import { SluiceError } from "../runtime/errors";
import { defaultDatabasePath } from "../runtime/paths";

export const dbArg = {
  db: {
    type: "string",
    description: "Database file (default: $SLUICE_DB, else $XDG_DATA_HOME/sluice/sluice.db; ~/Library/Application Support/sluice/sluice.db on macOS)",
    valueHint: "path",
  },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "Print the result as one JSON object on stdout", default: false },
} as const;

export const progressArg = {
  progress: { type: "boolean", description: "Show a progress line (default: when stderr is a terminal)", default: undefined },
} as const;

export function wantProgress(arg: boolean | undefined): boolean {
  return arg ?? Boolean(process.stderr.isTTY);
}

export function resolveDbPath(arg: string | undefined): string {
  return arg && arg.length ? arg : defaultDatabasePath();
}

/** Parses a whole-number flag, with a one-line error naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new SluiceError(`--${name} ${value} is not a whole number >= ${min}; see --help`);
  return n;
}
