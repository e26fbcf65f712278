// The time of a line, decided once, at index time: every `at` the index stores is either the
// canonical UTC form `YYYY-MM-DDTHH:MM:SS.sssZ` (24 characters, so text order is time order and
// the 15-minute buckets are a substring) or UNDATED. A report never parses a stored time that
// could fail.

/** Stored for a call whose line had no usable time and no dated line before or after it in its file. */
export const UNDATED = "";

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ZERO = 48;
/** Where the digits of the canonical form are. */
const DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
/** The earliest and latest years a stored time may have: a year past 9999 has no 4-digit form. */
const FIRST_YEAR = 1970, LAST_YEAR = 9999;
/** A number below this is no time (a count, an id); up to EPOCH_MS_FROM it is epoch seconds. */
const EPOCH_SECONDS_FROM = 1e9, EPOCH_MS_FROM = 1e11;

/**
 * The canonical UTC form of a line's timestamp, or null when it has none that is usable. Claude
 * Code and Codex write the canonical form already; it is checked without allocating. Anything else
 * is parsed once: an offset is applied (not read as UTC), a time without a zone is UTC, a leap
 * second is the last millisecond of its minute, a date alone is noon UTC of that day (the same
 * calendar day from UTC-12 to UTC+11), and a number is epoch milliseconds (or seconds, from 2001).
 */
export function canonicalTime(x: unknown): string | null {
  if (typeof x === "string") return isCanonical(x) ? x : parseOther(x);
  if (typeof x === "number" && x >= EPOCH_SECONDS_FROM) return fromEpoch(x < EPOCH_MS_FROM ? x * 1000 : x);
  return null;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` with every field in range (February 29 only in a leap year). */
export function isCanonical(s: string): boolean {
  if (s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return false;
  for (const i of DIGITS) {
    const c = s.charCodeAt(i) - ZERO;
    if (c < 0 || c > 9) return false;
  }
  const n = (i: number) => (s.charCodeAt(i) - ZERO) * 10 + s.charCodeAt(i + 1) - ZERO;
  const year = n(0) * 100 + n(2), month = n(5), day = n(8);
  if (year < FIRST_YEAR || month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  return n(11) < 24 && n(14) < 60 && n(17) < 60;
}

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;
const LEAP_SECOND = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d):60(?:\.\d+)?/;
const HAS_ZONE = /(?:Z|[+-]\d\d:?\d\d)$/i;
const ISO_LIKE = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/;

function parseOther(raw: string): string | null {
  let s = raw.trim();
  if (s.length < 10 || s.length > 64) return null;
  if (DATE_ONLY.test(s)) return checkedDay(s) ? `${s}T12:00:00.000Z` : null;
  if (!ISO_LIKE.test(s) || !checkedDay(s.slice(0, 10))) return null; // only ISO 8601: "03/04/2025" means two dates
  s = s.replace(LEAP_SECOND, "$1:59.999");
  if (!HAS_ZONE.test(s)) s += "Z"; // a time without a zone is UTC, never this machine's zone
  return fromEpoch(Date.parse(s));
}

/** A `YYYY-MM-DD` that names a real day (the parser would roll February 30 into March). */
function checkedDay(d: string): boolean {
  return isCanonical(`${d}T00:00:00.000Z`);
}

function fromEpoch(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  return year >= FIRST_YEAR && year <= LAST_YEAR ? d.toISOString() : null;
}
