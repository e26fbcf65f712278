// Time zones without ICU where the system has them. The first Intl.DateTimeFormat of a process
// loads ICU's data, about 18 ms: more than a report's own work (docs/benchmarks.md, "Start-up").
// A zone's offsets come instead from the system's zoneinfo file (TZif, RFC 8536), read and parsed
// in well under a millisecond, with its footer's POSIX TZ rule past the last transition. A zone
// with no readable file (another system, a name in other letter case) falls back to Intl, which
// also has the last word on whether a name is a zone at all. test/zone.test.ts checks the offsets
// against Intl's for every zone this machine has.

import { readFileSync, readlinkSync } from "node:fs";

export interface Zone {
  readonly name: string;
  /** The zone's offset from UTC at an instant (epoch ms), in ms; east is positive. */
  offsetAt(ms: number): number;
}

const ZONEINFO = ["/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/var/db/timezone/zoneinfo"];
const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Etc/Greenwich", "Greenwich"]);
const SAFE_NAME = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
const cache = new Map<string, Zone>();

/** This machine's zone, by name: $TZ, else what /etc/localtime links to, else Intl's. */
export function systemZoneName(env: NodeJS.ProcessEnv = process.env): string {
  const tz = env.TZ?.replace(/^:/, "");
  // a zone's name (read once: zone() keeps it); a POSIX rule in $TZ ("CET-1CEST") is left to the next ways
  if (tz && SAFE_NAME.test(tz)) {
    try {
      return zone(tz).name;
    } catch {}
  }
  if (tz === "") return "UTC"; // TZ set but empty means UTC to the C library
  try {
    const m = /zoneinfo\/(.+)$/.exec(readlinkSync("/etc/localtime"));
    if (m && SAFE_NAME.test(m[1]!)) return m[1]!;
  } catch {}
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The zone named `name` (an IANA name); throws a RangeError when there is no such zone. */
export function zone(name: string): Zone {
  let z = cache.get(name);
  if (!z) {
    z = UTC_NAMES.has(name) ? { name, offsetAt: () => 0 } : (fileZone(name) ?? intlZone(name));
    cache.set(name, z);
  }
  return z;
}

/** A local calendar date, "YYYY-MM-DD", of an instant in a zone. */
export function localDateOf(z: Zone, ms: number): string {
  return new Date(ms + z.offsetAt(ms)).toISOString().slice(0, 10);
}

/** A local wall-clock time, "YYYY-MM-DDTHH:MM:SS", of an instant in a zone. */
export function localTimeOf(z: Zone, ms: number): string {
  return new Date(ms + z.offsetAt(ms)).toISOString().slice(0, 19);
}

function intlZone(name: string): Zone {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: name, timeZoneName: "longOffset" }); // throws for no zone
  return {
    name,
    // one short format ("GMT-05:00"): ten times faster than formatToParts
    offsetAt(ms) {
      const m = /GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(f.format(ms));
      if (!m) return NaN;
      return m[1] ? (m[1] === "-" ? -1 : 1) * ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4] ?? 0)) * 1000 : 0;
    },
  };
}

function fileZone(name: string): Zone | null {
  if (!SAFE_NAME.test(name) || name.includes("..")) return null;
  for (const dir of ZONEINFO) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(`${dir}/${name}`);
    } catch {
      continue;
    }
    const t = parseTzif(bytes);
    return t ? tzifZone(name, t) : null;
  }
  return null;
}

interface Tzif {
  /** Transition instants, epoch seconds, ascending. */
  times: number[];
  /** The UTC offset (seconds) in force from each transition on. */
  offsets: number[];
  /** The offset before the first transition. */
  initial: number;
  /** The footer's POSIX TZ rule for instants past the last transition, or null. */
  rule: PosixRule | null;
}

/** Parses a TZif file's version 2+ data (64-bit times) and its footer; null if it is not one. */
export function parseTzif(b: Buffer): Tzif | null {
  if (b.length < 44 || b.toString("latin1", 0, 4) !== "TZif" || b[4] === 0) return null;
  const v1 = counts(b, 0);
  let at = 44 + v1.timecnt * 5 + v1.typecnt * 6 + v1.charcnt + v1.leapcnt * 8 + v1.isstdcnt + v1.isutcnt;
  if (b.toString("latin1", at, at + 4) !== "TZif") return null;
  const c = counts(b, at);
  at += 44;
  const times: number[] = [];
  for (let i = 0; i < c.timecnt; i++) times.push(Number(b.readBigInt64BE(at + i * 8)));
  at += c.timecnt * 8;
  const typeOf = [...b.subarray(at, at + c.timecnt)];
  at += c.timecnt;
  const types: number[] = [];
  for (let i = 0; i < c.typecnt; i++) types.push(b.readInt32BE(at + i * 6));
  at += c.typecnt * 6 + c.charcnt + c.leapcnt * 12 + c.isstdcnt + c.isutcnt;
  if (c.leapcnt > 0 || c.typecnt === 0) return null; // "right/" zones count leap seconds: left to Intl
  const footer = b.toString("latin1", at).split("\n")[1] ?? "";
  const rule = footer ? parsePosixRule(footer) : null;
  if (footer && !rule) return null;
  return { times, offsets: typeOf.map((i) => types[i]!), initial: types[0]!, rule };
}

function counts(b: Buffer, at: number) {
  const n = (i: number) => b.readUInt32BE(at + 20 + i * 4);
  return { isutcnt: n(0), isstdcnt: n(1), leapcnt: n(2), timecnt: n(3), typecnt: n(4), charcnt: n(5) };
}

function tzifZone(name: string, t: Tzif): Zone {
  const last = t.times.length ? t.times[t.times.length - 1]! : -Infinity;
  return {
    name,
    offsetAt(ms) {
      const s = Math.floor(ms / 1000);
      if (s >= last && t.rule) return ruleOffset(t.rule, s) * 1000;
      // the last transition at or before s
      let lo = 0, hi = t.times.length - 1, found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (t.times[mid]! <= s) (found = mid), (lo = mid + 1);
        else hi = mid - 1;
      }
      return (found < 0 ? t.initial : t.offsets[found]!) * 1000;
    },
  };
}

/** A POSIX TZ rule: standard offset, and daylight time between two yearly dates if it has one. */
interface PosixRule {
  std: number; // seconds east of UTC
  dst: number | null;
  start: RuleDate | null;
  end: RuleDate | null;
}

/** A yearly date: Mm.w.d (month, week 1-5 where 5 is the last, weekday), Jn or n; and a local time in seconds. */
type RuleDate = { kind: "M"; month: number; week: number; day: number; time: number } | { kind: "J" | "n"; day: number; time: number };

const NAME = /^(?:<[^>]*>|[A-Za-z]{3,})/;
const OFFSET = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?/;

/** Parses "CET-1CEST,M3.5.0,M10.5.0/3", "<+0545>-5:45", "EST5EDT,0/0,J365/25" and their kind; null if it cannot. */
export function parsePosixRule(text: string): PosixRule | null {
  let rest = text;
  const take = (re: RegExp) => {
    const m = re.exec(rest);
    if (m) rest = rest.slice(m[0].length);
    return m;
  };
  const seconds = (m: RegExpExecArray) => (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0));
  if (!take(NAME)) return null;
  const stdOff = take(OFFSET);
  if (!stdOff) return null;
  const std = -seconds(stdOff); // POSIX counts west of UTC as positive
  if (!rest) return { std, dst: null, start: null, end: null };
  if (!take(NAME)) return null;
  const dstOff = take(OFFSET);
  const dst = dstOff ? -seconds(dstOff) : std + 3600;
  if (!take(/^,/)) return rest ? null : { std, dst, start: { kind: "M", month: 3, week: 2, day: 0, time: 7200 }, end: { kind: "M", month: 11, week: 1, day: 0, time: 7200 } };
  const date = (): RuleDate | null => {
    const m = take(/^M(\d{1,2})\.(\d)\.(\d)/) ?? take(/^(J?)(\d{1,3})/);
    if (!m) return null;
    const time = take(/^\//) ? take(OFFSET) : null;
    if (time === null && rest.startsWith("/")) return null;
    const t = time ? seconds(time) : 7200;
    return m[0].startsWith("M") ? { kind: "M", month: Number(m[1]), week: Number(m[2]), day: Number(m[3]), time: t } : { kind: m[1] === "J" ? "J" : "n", day: Number(m[2]), time: t };
  };
  const start = date();
  if (!start || !take(/^,/)) return null;
  const end = date();
  if (!end || rest) return null;
  return { std, dst, start, end };
}

const DAY = 86400;

/** The epoch second a rule date falls on in a year, at its local time, read as if it were UTC. */
function ruleDateSeconds(d: RuleDate, year: number): number {
  const jan1 = Date.UTC(year, 0, 1) / 1000;
  if (d.kind !== "M") {
    if (d.kind === "n") return jan1 + d.day * DAY + d.time;
    // Jn counts 1 to 365 and never the 29th of February
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return jan1 + (d.day - 1 + (leap && d.day >= 60 ? 1 : 0)) * DAY + d.time;
  }
  const first = Date.UTC(year, d.month - 1, 1) / 1000;
  const firstWeekday = new Date(first * 1000).getUTCDay();
  let day = 1 + ((d.day - firstWeekday + 7) % 7) + (d.week - 1) * 7;
  const daysInMonth = new Date(Date.UTC(year, d.month, 0)).getUTCDate();
  while (day > daysInMonth) day -= 7;
  return first + (day - 1) * DAY + d.time;
}

/** A rule's offset at epoch second `s`. */
function ruleOffset(r: PosixRule, s: number): number {
  if (r.dst === null || !r.start || !r.end) return r.std;
  const year = new Date((s + r.std) * 1000).getUTCFullYear();
  for (const y of [year - 1, year, year + 1]) {
    // the start is given in standard time, the end in daylight time
    const start = ruleDateSeconds(r.start, y) - r.std;
    const end = ruleDateSeconds(r.end, y) - r.dst;
    if (start < end && s >= start && s < end) return r.dst;
    if (start > end) {
      // southern hemisphere: daylight time from start to the end of the next year
      const nextEnd = ruleDateSeconds(r.end, y + 1) - r.dst;
      if (s >= start && s < nextEnd) return r.dst;
    }
  }
  // (a rule of daylight time all year, "EST5EDT,0/0,J365/25", ends each year where the next starts)
  return r.std;
}
