// The dates and time zone a report is asked for (--since, --until, --tz, or the same words as the
// dashboard's query parameters), checked: real calendar dates, a range the right way round, a
// zone that exists. A mistake is one line that names the flag.

import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { config } from "../runtime/config";
import { localDateOf, systemZoneName, zone } from "../runtime/zone";

const DAY_MS = 86_400_000;

/**
 * A date flag as YYYY-MM-DD: a real calendar date as YYYY-MM-DD or YYYYMMDD (ccusage's form), or
 * today, yesterday, Nd or Nw (days or weeks before today in `tz`).
 */
export function dateFlag(name: string, v: string, tz: string): string {
  const rel = /^(today|yesterday|(\d{1,4})([dw]))$/.exec(v);
  if (rel) {
    const today = localDateOf(zone(tz), Date.now());
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
  const tz = v ?? config().tz ?? systemZoneName();
  try {
    zone(tz);
  } catch {
    throw new SluiceError(`--tz ${tz} is not a time zone; use an IANA name such as Europe/Berlin or UTC`, EXIT_USAGE);
  }
  return tz;
}
