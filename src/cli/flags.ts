// Flags shared by every command, defined once.
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { defaultDatabasePath } from "../runtime/paths";
import { config } from "./config";

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
  return arg ?? Boolean(process.stderr.isTTY);
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

const DAY_MS = 86_400_000;

/**
 * A date flag as YYYY-MM-DD: a real calendar date as YYYY-MM-DD or YYYYMMDD (ccusage's form), or
 * today, yesterday, Nd or Nw (days or weeks before today in `tz`).
 */
export function dateFlag(name: string, v: string, tz: string): string {
  const rel = /^(today|yesterday|(\d{1,4})([dw]))$/.exec(v);
  if (rel) {
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(Date.now());
    const back = rel[1] === "today" ? 0 : rel[1] === "yesterday" ? 1 : Number(rel[2]) * (rel[3] === "w" ? 7 : 1);
    return new Date(Date.parse(`${today}T00:00:00Z`) - back * DAY_MS).toISOString().slice(0, 10);
  }
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(v);
  const date = m ? `${m[1]}-${m[2]}-${m[3]}` : "";
  // the parser rolls 2025-02-30 into March: a real date reads back the same
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new SluiceError(`--${name} ${v} is not a date; use YYYY-MM-DD (or YYYYMMDD, today, yesterday, 7d, 2w)`, EXIT_USAGE);
  }
  return date;
}

/** --since and --until, checked each and against each other. */
export function dateRange(since: string | undefined, until: string | undefined, tz: string): { since?: string; until?: string } {
  const range = { since: since === undefined ? undefined : dateFlag("since", since, tz), until: until === undefined ? undefined : dateFlag("until", until, tz) };
  if (range.since && range.until && range.since > range.until) {
    throw new SluiceError(`--since ${range.since} is after --until ${range.until}; swap them`, EXIT_USAGE);
  }
  return range;
}

/** --tz, else the config file's, else this machine's zone; one that does not exist is refused. */
export function tzFlag(v: string | undefined): string {
  const tz = v ?? config().tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: tz });
  } catch {
    throw new SluiceError(`--tz ${tz} is not a time zone; use an IANA name such as Europe/Berlin or UTC`, EXIT_USAGE);
  }
  return tz;
}
