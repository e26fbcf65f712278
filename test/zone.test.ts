// runtime/zone.ts reads the system's zoneinfo files itself, to spare a report ICU's start-up. Its
// offsets are checked against the C library's reading of the same files (`date`, one process per
// zone), for every zone this machine has, hour by hour through a year of transitions and through a
// year its footer's rule governs; and against Intl for the zones people use most.

import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localDateOf, localTimeOf, parsePosixRule, systemZoneName, zone } from "../src/runtime/zone";
import { tempDir } from "./helpers";

const HOUR = 3_600_000;

function instants(): number[] {
  const out: number[] = [];
  for (const [year, step] of [[2026, HOUR], [2045, HOUR]] as const) {
    for (let ms = Date.UTC(year, 0, 1); ms < Date.UTC(year + 1, 0, 1); ms += step) out.push(ms);
  }
  let seed = 7;
  for (let i = 0; i < 300; i++) out.push(Date.UTC(1995, 0, 1) + Math.floor(((seed = (seed * 48271) % 2147483647) / 2147483647) * 50 * 365.25 * 24 * HOUR));
  return out;
}

/** "+0545" as `date +%z` prints it, from an offset in ms. */
const asZ = (ms: number) => `${ms < 0 ? "-" : "+"}${String(Math.floor(Math.abs(ms) / HOUR)).padStart(2, "0")}${String(Math.floor((Math.abs(ms) % HOUR) / 60000)).padStart(2, "0")}`;

describe("zones", () => {
  test("every zone's offsets equal the C library's, hour by hour through 2026, and through 2045, past the files' last transition, where the rule governs", async () => {
    const tmp = tempDir("sluice-zone-");
    try {
      const times = instants();
      const list = join(tmp.dir, "instants");
      writeFileSync(list, times.map((ms) => `@${Math.floor(ms / 1000)}`).join("\n") + "\n");
      const names = Intl.supportedValuesOf("timeZone").filter((n) => existsSync(`/usr/share/zoneinfo/${n}`));
      expect(names.length).toBeGreaterThan(300);
      const differ: string[] = [];
      for (let i = 0; i < names.length; i += 8) {
        await Promise.all(names.slice(i, i + 8).map(async (name) => {
          const p = Bun.spawn(["date", "-f", list, "+%z"], { env: { TZ: name }, stdout: "pipe" });
          // "-0000" is the C library's "offset unknown" (a station before it was manned): zero too
          const lines = (await new Response(p.stdout).text()).trim().split("\n").map((l) => (l === "-0000" ? "+0000" : l));
          const z = zone(name);
          times.forEach((ms, k) => {
            if (asZ(z.offsetAt(ms)) !== lines[k]) differ.push(`${name} ${new Date(ms).toISOString()}: ${asZ(z.offsetAt(ms))}, date says ${lines[k]}`);
          });
        }));
      }
      expect(differ.slice(0, 5)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  }, 120_000);

  test("the zones people use most agree with Intl from 2020 to 2040", () => {
    for (const name of ["America/New_York", "America/Los_Angeles", "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Kiritimati", "UTC"]) {
      const f = new Intl.DateTimeFormat("en-CA", { timeZone: name, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
      const z = zone(name);
      for (let ms = Date.UTC(2020, 0, 1); ms < Date.UTC(2040, 0, 1); ms += 7 * HOUR + 13 * 60_000) {
        expect(localTimeOf(z, ms)).toBe(f.format(ms).replace(", ", "T"));
      }
    }
  });

  test("local dates across midnight; unknown names refused; other letter cases and UTC's aliases", () => {
    expect(localDateOf(zone("Asia/Kathmandu"), Date.parse("2026-06-10T18:14:59Z"))).toBe("2026-06-10");
    expect(localDateOf(zone("Asia/Kathmandu"), Date.parse("2026-06-10T18:15:00Z"))).toBe("2026-06-11");
    expect(localDateOf(zone("Pacific/Kiritimati"), Date.parse("2026-01-01T09:59:59Z"))).toBe("2026-01-01");
    expect(localDateOf(zone("America/New_York"), Date.parse("2026-03-08T04:59:59Z"))).toBe("2026-03-07");
    expect(() => zone("Mars/Olympus")).toThrow(RangeError);
    expect(() => zone("../../etc/passwd")).toThrow(RangeError);
    expect(zone("europe/berlin").offsetAt(Date.UTC(2026, 6, 1))).toBe(2 * HOUR);
    for (const utc of ["UTC", "Etc/UTC", "GMT", "Etc/GMT0"]) expect(zone(utc).offsetAt(Date.now())).toBe(0);
  });

  test("the machine's zone: $TZ, with or without its colon; empty is UTC", () => {
    expect(systemZoneName({ TZ: "Europe/Berlin" })).toBe("Europe/Berlin");
    expect(systemZoneName({ TZ: ":Asia/Tokyo" })).toBe("Asia/Tokyo");
    expect(systemZoneName({ TZ: "" })).toBe("UTC");
    expect(() => zone(systemZoneName({ TZ: "CET-1CEST" }))).not.toThrow();
    expect(zone(systemZoneName({})).offsetAt(0)).toBeNumber();
  });

  test("POSIX rules: the forms TZif footers use", () => {
    expect(parsePosixRule("CET-1CEST,M3.5.0,M10.5.0/3")).toEqual({ std: 3600, dst: 7200, start: { kind: "M", month: 3, week: 5, day: 0, time: 7200 }, end: { kind: "M", month: 10, week: 5, day: 0, time: 10800 } });
    expect(parsePosixRule("<+0545>-5:45")).toEqual({ std: 20700, dst: null, start: null, end: null });
    expect(parsePosixRule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1")?.start).toEqual({ kind: "M", month: 3, week: 5, day: 0, time: -7200 });
    expect(parsePosixRule("EST5EDT,0/0,J365/25")?.end).toEqual({ kind: "J", day: 365, time: 90000 });
    expect(parsePosixRule("nonsense")).toBeNull();
  });
});
