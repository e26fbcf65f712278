// The 5-hour blocks and the weekly report on hand-made Claude Code transcripts with known answers:
// a silence of exactly the session length, a block across midnight and a DST change, an active
// block at the edge of its window, and the token limit (max, ok, warning, exceeds). Each case is
// written to a temp dir, indexed by the real binary and reported by it; the times relative to now
// are taken before the run and bounded after it.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, tempDir } from "./helpers";
import { writeClaude, type Call } from "./transcripts";
import { bucketDate } from "../src/report/reports";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-reports-");
afterAll(() => tmp.cleanup());
const MIN = 60_000, HOUR = 3_600_000, DAY = 86_400_000;
const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
let cases = 0;

/** Indexes the sessions into a new database; the function it gives runs a report on it (JSON with --json). */
async function indexed(sessions: Record<string, Call[]>) {
  const dir = join(tmp.dir, `case-${++cases}`);
  writeClaude(join(dir, "claude"), sessions);
  mkdirSync(join(dir, "codex")); // a named root must exist
  const db = join(dir, "sluice.db");
  const r = await run(BIN, ["index", "--claude", join(dir, "claude"), "--codex", join(dir, "codex"), "--db", db]);
  if (r.code !== 0) throw new Error(`index failed: ${r.stderr}`);
  const report = async (...args: string[]) => {
    const out = await run(BIN, ["report", ...args, "--db", db]);
    expect({ args, code: out.code }).toEqual({ args, code: 0 });
    return args.includes("--json") ? JSON.parse(out.stdout) : out.stdout;
  };
  return Object.assign(report, { db });
}

/** A block or gap as [startTime, endTime, actualEndTime, entries, input tokens]. */
const shape = (b: any) => [b.startTime, b.endTime, b.actualEndTime, b.entries, b.tokenCounts.inputTokens, b.isGap];

describe("blocks", () => {
  test("a call exactly 5 hours after the block's start is in it; a silence of exactly 5 hours is no gap, 1 ms more is", async () => {
    const report = await indexed({
      s1: [
        { at: "2025-03-10T10:00:00.000Z", input: 100 }, { at: "2025-03-10T15:00:00.000Z", input: 200 },
        { at: "2025-03-10T20:00:00.000Z", input: 300 }, { at: "2025-03-11T01:00:00.001Z", input: 400 },
      ],
    });
    const r = await report("blocks", "--json", "--tz", "UTC");
    expect(r.blocks.map(shape)).toEqual([
      ["2025-03-10T10:00:00.000Z", "2025-03-10T15:00:00.000Z", "2025-03-10T15:00:00.000Z", 2, 300, false],
      ["2025-03-10T20:00:00.000Z", "2025-03-11T01:00:00.000Z", "2025-03-10T20:00:00.000Z", 1, 300, false],
      ["2025-03-11T01:00:00.000Z", "2025-03-11T01:00:00.001Z", null, 0, 0, true],
      ["2025-03-11T01:00:00.000Z", "2025-03-11T06:00:00.000Z", "2025-03-11T01:00:00.001Z", 1, 400, false],
    ]);
    expect(r.blocks.map((b: any) => b.id)).toEqual(["2025-03-10T10:00:00.000Z", "2025-03-10T20:00:00.000Z", "gap-2025-03-11T01:00:00.000Z", "2025-03-11T01:00:00.000Z"]);
    // the same price code as daily: the blocks cost what the days cost
    const daily = await report("daily", "--json", "--tz", "UTC");
    const blocksCost = r.blocks.reduce((s: number, b: any) => s + b.costUSD, 0);
    expect(blocksCost).toBeGreaterThan(0);
    expect(Math.abs(blocksCost - daily.totals.totalCost)).toBeLessThan(1e-9);
  });

  test("a session length that ends inside a bucket splits it at the instant; the next block starts on its own hour", async () => {
    const report = await indexed({ s: [{ at: "2025-03-12T10:00:00.000Z", input: 100 }, { at: "2025-03-12T11:05:00.000Z", input: 200 }, { at: "2025-03-12T11:07:00.000Z", input: 300 }] });
    const r = await report("blocks", "--json", "--session-length", "1.1");
    expect(r.blocks.map(shape)).toEqual([
      ["2025-03-12T10:00:00.000Z", "2025-03-12T11:06:00.000Z", "2025-03-12T11:05:00.000Z", 2, 300, false],
      ["2025-03-12T11:00:00.000Z", "2025-03-12T12:06:00.000Z", "2025-03-12T11:07:00.000Z", 1, 300, false],
    ]);
    expect((await report("blocks", "--json", "--session-length", "2.5")).blocks.map(shape)).toEqual([
      ["2025-03-12T10:00:00.000Z", "2025-03-12T12:30:00.000Z", "2025-03-12T11:07:00.000Z", 3, 600, false],
    ]);
  });

  test("a block across midnight and the end of DST in America/New_York: one block, chosen by the day it starts on", async () => {
    const calls = ["2024-11-03T03:40:00.000Z", "2024-11-03T05:30:00.000Z", "2024-11-03T06:30:00.000Z", "2024-11-03T07:59:00.000Z"].map((at) => ({ at, input: 1000, output: 10 }));
    const report = await indexed({ fall: calls });
    const ny = ["--tz", "America/New_York"];
    const r = await report("blocks", "--json", ...ny);
    // 23:00 EDT on Nov 2 to 03:00 EST on Nov 3: five hours, though the wall clock moves four
    expect(r.blocks.map(shape)).toEqual([["2024-11-03T03:00:00.000Z", "2024-11-03T08:00:00.000Z", "2024-11-03T07:59:00.000Z", 4, 4000, false]]);
    expect((await report("blocks", "--json", ...ny, "--since", "2024-11-03")).blocks).toEqual([]);
    expect((await report("blocks", "--json", ...ny, "--until", "2024-11-02")).blocks.length).toBe(1);
    expect((await report("blocks", "--json", "--tz", "UTC", "--since", "2024-11-03")).blocks.length).toBe(1);
    const text = await report("blocks", ...ny);
    expect(text).toMatch(/2024-11-02 23:00\s+4h 59m\s+sonnet-4-5\s+4\s/);
    // the days split what the block keeps together
    expect((await report("daily", "--json", ...ny)).daily.map((d: any) => [d.date, d.inputTokens])).toEqual([["2024-11-02", 1000], ["2024-11-03", 3000]]);
  });

  test("a block across the start of DST: its duration is real time, not the wall clock's", async () => {
    const report = await indexed({ spring: [{ at: "2025-03-09T05:10:00.000Z", input: 5 }, { at: "2025-03-09T09:50:00.000Z", input: 7 }] });
    const text = await report("blocks", "--tz", "America/New_York");
    // 00:00 EST to 05:50 EDT on the wall clock, which skips an hour: 4 h 50 min of real time
    expect(text).toMatch(/2025-03-09 00:00\s+4h 50m/);
    const r = await report("blocks", "--json", "--tz", "America/New_York");
    expect(r.blocks.map(shape)).toEqual([["2025-03-09T05:00:00.000Z", "2025-03-09T10:00:00.000Z", "2025-03-09T09:50:00.000Z", 2, 12, false]]);
  });

  test("a block whose window closed a moment ago is not active, though its last call is minutes old", async () => {
    const now = Date.now();
    const start = floorHour(now) - 5 * HOUR; // its window ends at the last full hour
    const report = await indexed({ s: [{ at: start + MIN, input: 10 }, { at: floorHour(now) - 30_000, input: 20 }] });
    const r = await report("blocks", "--json");
    expect(r.blocks.map((b: any) => [b.startTime, b.endTime, b.isActive, b.burnRate, b.projection])).toEqual([[iso(start), iso(floorHour(now)), false, null, null]]);
    expect((await report("blocks", "--json", "--active")).blocks).toEqual([]);
    expect(await report("blocks", "--active")).toMatch(/No active block/);
  });

  test("the active block at the edge of its window: its burn rate, and its projection to the end", async () => {
    const before = Date.now();
    const start = floorHour(before) - 4 * HOUR; // its window ends within the hour
    const first = start + MIN, last = before - MIN;
    const report = await indexed({ s: [{ at: first, input: 1000, output: 200, cacheRead: 5000 }, { at: last, input: 3000, output: 800, cacheWrite: 2000 }] });
    const r = await report("blocks", "--json", "--active");
    const after = Date.now();
    expect(r.blocks.length).toBe(1);
    const b = r.blocks[0];
    expect([b.startTime, b.endTime, b.actualEndTime, b.isActive, b.entries, b.totalTokens]).toEqual([iso(start), iso(start + 5 * HOUR), iso(last), true, 2, 12_000]);
    const minutes = (last - first) / MIN;
    expect(b.burnRate.tokensPerMinute).toBeCloseTo(12_000 / minutes, 9);
    expect(b.burnRate.tokensPerMinuteForIndicator).toBeCloseTo(5_000 / minutes, 9);
    expect(b.burnRate.costPerHour).toBeCloseTo((b.costUSD / minutes) * 60, 12);
    const left = (t: number) => Math.round((start + 5 * HOUR - t) / MIN);
    expect(b.projection.remainingMinutes).toBeLessThanOrEqual(left(before));
    expect(b.projection.remainingMinutes).toBeGreaterThanOrEqual(left(after));
    expect(b.projection.totalTokens).toBe(Math.round(12_000 + (12_000 / minutes) * b.projection.remainingMinutes));
    expect(b.projection.totalCost).toBe(Math.round((b.costUSD + (b.burnRate.costPerHour / 60) * b.projection.remainingMinutes) * 100) / 100);
    const text = await report("blocks");
    expect(text).toMatch(/ACTIVE/);
    expect(text).toMatch(/Active block: \d{4}-\d\d-\d\d \d\d:00 to \d\d:00, 0h \d\dm left/);
    expect(text).toMatch(/Burn rate: [\d,]+ tokens\/min, \$[\d,.]+\/hour/);
    expect(text).toMatch(/Projected by \d\d:\d\d: [\d,]+ tokens, \$[\d,.]+/);
  });

  describe("--token-limit and --recent", () => {
    // The active block's end is put 60 minutes from now with the session length, so its
    // projection is its tokens times (1 + 59..60/179): 39,888 to 40,056 for 30,000 tokens.
    const now = Date.now();
    const first = now - 180 * MIN, last = now - MIN;
    const hours = String((now + 60 * MIN - floorHour(first)) / HOUR);
    const earlier = (daysAgo: number, input: number): Call => ({ at: floorHour(now - daysAgo * DAY) + 10 * MIN, input });
    const sessions = { old: [earlier(4, 20_000)], recent: [earlier(2, 45_000)], now: [{ at: first, input: 10_000 }, { at: last, input: 20_000 }] };
    let report: Awaited<ReturnType<typeof indexed>>;
    beforeAll(async () => {
      report = await indexed(sessions);
    });
    const status = async (...limit: string[]) => {
      const r = await report("blocks", "--json", "--session-length", hours, ...limit);
      const active = r.blocks.filter((b: any) => b.isActive);
      expect(active.length).toBe(1);
      const projected = active[0].projection.totalTokens;
      expect(projected).toBeGreaterThanOrEqual(39_880);
      expect(projected).toBeLessThanOrEqual(40_060);
      return active[0].tokenLimitStatus;
    };

    test("max is the largest earlier block; ok, warning past 80%, exceeds past 100%", async () => {
      const max = await status("--token-limit", "max");
      expect([max.limit, max.status]).toEqual([45_000, "warning"]);
      expect(max.percentUsed).toBeCloseTo((max.projectedUsage / 45_000) * 100, 9);
      expect((await status("--token-limit", "100000")).status).toBe("ok");
      expect((await status("--token-limit", "45000")).status).toBe("warning");
      expect((await status("--token-limit", "35000")).status).toBe("exceeds");
      expect(await status()).toBeUndefined();
      // no limit on a block that is over: a status is for the projection of the active block
      const r = await report("blocks", "--json", "--session-length", hours, "--token-limit", "max");
      expect(r.blocks.filter((b: any) => !b.isActive && b.tokenLimitStatus)).toEqual([]);
      // --active leaves the active block alone; max still comes from the blocks before it
      const active = await report("blocks", "--json", "--session-length", hours, "--token-limit", "max", "--active");
      expect(active.blocks.map((b: any) => [b.isActive, b.tokenLimitStatus?.limit])).toEqual([[true, 45_000]]);
      const text = await report("blocks", "--session-length", hours, "--token-limit", "max");
      expect(text).toMatch(/Token limit 45,000 \(the largest earlier block\): 30,000 used, 8\d\.\d% projected: warning/);
    });

    test("the table at 60, 80 and 120 columns: no line wider, no number cut, the active block's lines under it", async () => {
      for (const width of [60, 80, 120]) {
        const out = await run(BIN, ["report", "blocks", "--db", report.db, "--session-length", hours, "--token-limit", "max"], { env: { COLUMNS: String(width) } });
        expect(out.code).toBe(0);
        for (const line of out.stdout.trimEnd().split("\n")) expect({ width, line, fits: Bun.stringWidth(line) <= width }).toEqual({ width, line, fits: true });
        expect(out.stdout).not.toMatch(/(^|\s)[$\d,.%]+…/m);
        // the start of every block and gap whole: the text columns that give way are the others
        expect(out.stdout.split("\n").filter((l) => /^\d{4}-/.test(l)).map((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d /.test(l))).toEqual([true, true, true, true, true]);
        expect(out.stdout).toMatch(/ 45,000 +100\.0% +\$[\d,]+\.\d\d\n/); // the largest block is the limit
        expect(out.stdout).toMatch(/Burn rate: /);
      }
    });

    test("--recent: the blocks that started in the last 3 days, and the gap between them", async () => {
      const r = await report("blocks", "--json", "--session-length", hours, "--recent");
      expect(r.blocks.map((b: any) => [b.isGap, b.entries, b.totalTokens, b.isActive])).toEqual([[false, 1, 45_000, false], [true, 0, 0, false], [false, 2, 30_000, true]]);
    });
  });
});

test("under a price table whose long-context threshold is not the buckets' 200k, a block costs its calls per call, the one at its end too", async () => {
  // 150,000 and 250,000 input tokens in one request each, 100,000 of them at $3 and the rest at $6 per million
  const prices = join(tmp.dir, "threshold-prices.json");
  const rate = (input: number) => ({ input, output: input * 5, cacheWrite5m: input * 1.25, cacheWrite1h: input * 2, cacheRead: input / 10 });
  writeFileSync(prices, JSON.stringify({ "claude-sonnet-4-5": { ...rate(3), threshold: 100_000, above: rate(6) } }));
  const report = await indexed({ s: [{ at: "2025-04-01T10:00:00.000Z", input: 150_000 }, { at: "2025-04-01T15:00:00.000Z", input: 250_000 }, { at: "2025-04-01T15:00:00.001Z", input: 10 }] });
  const r = await report("blocks", "--json", "--prices", prices);
  expect(r.blocks.map((b: any) => [b.entries, b.tokenCounts.inputTokens])).toEqual([[2, 400_000], [1, 10]]);
  expect(r.blocks[0].costUSD).toBeCloseTo(0.6 + 1.2, 12);
  expect(r.blocks[1].costUSD).toBeCloseTo(0.00003, 12);
  expect((await report("daily", "--json", "--prices", prices)).totals.totalCost).toBeCloseTo(1.80003, 12);
});

test("a bucket's local date by arithmetic is Intl's, in every time zone, on the days the offset changes and around them", () => {
  const oracle = (tz: string) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
  const key = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  const Q = 15 * MIN;
  let seed = 1, checked = 0;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const tz of Intl.supportedValuesOf("timeZone")) {
    const want = oracle(tz), got = bucketDate(tz);
    const zone = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" });
    const ms: number[] = [];
    for (let i = 0; i < 100; i++) ms.push(Math.floor((random() * 2_000_000_000_000) / Q) * Q); // 1970 to 2033
    // every quarter hour of the UTC days the zone's offset changes in, 2024-2025, and of the days beside them
    for (let day = Date.parse("2024-01-01T00:00:00Z"); day < Date.parse("2026-01-01T00:00:00Z"); day += DAY) {
      if (zone.format(day).split(", ")[1] !== zone.format(day + DAY).split(", ")[1]) for (let t = day - DAY; t < day + 2 * DAY; t += Q) ms.push(t);
    }
    for (const t of ms) {
      expect({ tz, key: key(t), date: got(key(t)) }).toEqual({ tz, key: key(t), date: want.format(t) });
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(40_000);
  // what is no bucket is undated, not what Date.parse makes of it ("garbage:00Z" is 2000-01-01 to it, February 30 March 2)
  expect(["", "garbage", "2025-02-30T10:00", "2025-01-01T24:00"].map(bucketDate("UTC"))).toEqual([null, null, null, null]);
});

describe("weekly", () => {
  test("weeks by their first day in --tz: Sunday by default, or --start-of-week", async () => {
    const report = await indexed({ w: ["2024-11-03T03:40:00.000Z", "2024-11-03T05:30:00.000Z", "2024-11-09T12:00:00.000Z", "2024-11-10T12:00:00.000Z"].map((at, i) => ({ at, input: 10 ** i })) });
    const weeks = async (...args: string[]) => (await report("weekly", "--json", ...args)).weekly.map((w: any) => [w.week, w.inputTokens]);
    // Saturday Nov 2 23:40 EDT, then Sunday Nov 3: two weeks in New York, one in UTC
    expect(await weeks("--tz", "America/New_York")).toEqual([["2024-10-27", 1], ["2024-11-03", 110], ["2024-11-10", 1000]]);
    expect(await weeks("--tz", "UTC")).toEqual([["2024-11-03", 111], ["2024-11-10", 1000]]);
    expect(await weeks("--tz", "America/New_York", "--start-of-week", "monday")).toEqual([["2024-10-28", 11], ["2024-11-04", 1100]]);
    expect(await weeks("--tz", "UTC", "--start-of-week", "saturday")).toEqual([["2024-11-02", 11], ["2024-11-09", 1100]]);
    // --since and --until choose days, so a week may be partial, as in ccusage
    expect(await weeks("--tz", "UTC", "--since", "2024-11-09")).toEqual([["2024-11-03", 100], ["2024-11-10", 1000]]);
    const r = await report("weekly", "--json", "--tz", "UTC");
    expect(r.totals.inputTokens).toBe(1111);
    expect(Object.keys(r.weekly[0]).sort()).toEqual(["cacheCreationTokens", "cacheReadTokens", "inputTokens", "modelBreakdowns", "modelsUsed", "outputTokens", "totalCost", "totalTokens", "week"]);
  });
});

test("flags of one report are refused by another, and bad values in one line", async () => {
  const { db } = await indexed({ s: [{ at: "2025-01-01T00:00:00.000Z", input: 1 }] });
  for (const [args, message] of [
    [["daily", "--active"], /--active is for 'sluice report blocks', not 'daily'/],
    [["blocks", "--start-of-week", "monday"], /--start-of-week is for 'sluice report weekly'/],
    [["weekly", "--start-of-week", "mon"], /--start-of-week mon is not a day/],
    [["blocks", "--token-limit", "lots"], /--token-limit lots is not a number of tokens/],
    [["blocks", "--session-length", "0.5"], /--session-length 0.5 is not a number of hours from 1 up/],
  ] as Array<[string[], RegExp]>) {
    const r = await run(BIN, ["report", ...args, "--db", db]);
    expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toMatch(message);
  }
});

test("a model priced only by its family's prefix is named in every report, in --json and under the table", async () => {
  const at = Date.parse("2025-11-20T10:00:00Z");
  const report = await indexed({ s1: [{ at, input: 1_000_000, model: "claude-opus-4-9-20261101" }, { at: at + MIN, input: 1_000, model: "claude-sonnet-4-5-20250929" }] });
  for (const kind of ["daily", "weekly", "monthly", "session", "models", "blocks"]) {
    const r = await report(kind, "--json", "--tz", "UTC");
    expect({ kind, a: r.approximatePrices }).toEqual({ kind, a: [{ model: "claude-opus-4-9-20261101", pricedAs: "claude-opus-4" }] });
  }
  const out = await run(BIN, ["report", "daily", "--db", report.db, "--tz", "UTC"]);
  expect(out.stderr).toContain("claude-opus-4-9-20261101 has no price of its own: priced as claude-opus-4");
});

test("--project, --agent, --instances, --breakdown and --order choose and group the rows", async () => {
  const at = Date.parse("2025-11-20T10:00:00Z");
  const report = await indexed({ a1: [{ at, input: 100 }, { at: at + DAY, input: 10 }], b1: [{ at, input: 1 }] });
  const daily = await report("daily", "--json", "--tz", "UTC", "--project", "demo");
  expect(daily.daily.map((d: any) => [d.date, d.inputTokens])).toEqual([["2025-11-20", 101], ["2025-11-21", 10]]);
  expect((await report("daily", "--json", "--tz", "UTC", "--project", "elsewhere")).daily).toEqual([]);
  expect((await report("daily", "--json", "--tz", "UTC", "--agent", "codex")).daily).toEqual([]);
  expect((await report("daily", "--json", "--tz", "UTC", "--order", "desc")).daily.map((d: any) => d.date)).toEqual(["2025-11-21", "2025-11-20"]);
  const inst = await report("daily", "--json", "--tz", "UTC", "--instances");
  expect(Object.keys(inst.projects)).toEqual(["/work/demo"]);
  expect(inst.totals.inputTokens).toBe(111);
  const text = await report("daily", "--tz", "UTC", "--breakdown");
  expect(text).toMatch(/^ {2}sonnet-4-5 +101 +0/m);
  const bad = await run(BIN, ["report", "blocks", "--db", report.db, "--instances"]);
  expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
  expect(bad.stderr).toContain("--instances is for 'sluice report daily|weekly|monthly', not 'blocks'");
});

test("blocks --active walks only the recent buckets and finds the same active block as a walk over all history", async () => {
  const now = Date.now();
  // a streak of calls every hour for 40 hours up to now (blocks chained, no silence), after a
  // silence of 6 hours, after older calls: the active block's start depends on the whole streak.
  // Laid on the hour grid, so that the chain is the same whatever the time: each block opens with
  // a call 7 minutes past its start, and the active one began on the hour two hours before now's,
  // so it ends hours after now and already holds calls of later hours. A walk begun at any call
  // but a block's first (the latest bucket, say) finds another block. (Laid back from now, the
  // streak's last block ended just before the reports ran in about one run in 30.)
  const grid = Math.floor(now / HOUR) * HOUR - 2 * HOUR;
  const streak: Call[] = [];
  for (let t = grid - 40 * HOUR + 7 * MIN; t <= now - 2 * MIN; t += HOUR) streak.push({ at: t, input: 100, output: 10 });
  const old: Call[] = [{ at: grid - 47 * HOUR, input: 5 }, { at: grid - 46.5 * HOUR, input: 7 }];
  for (const [name, sessions] of [["streak", { s1: [...old, ...streak] }], ["short", { s1: [{ at: now - 20 * MIN, input: 3 }] }], ["none active", { s1: old }]] as const) {
    const report = await indexed(sessions as Record<string, Call[]>);
    const all = (await report("blocks", "--json")).blocks.filter((b: any) => b.isActive);
    const active = (await report("blocks", "--json", "--active")).blocks;
    const strip = (b: any) => ({ ...b, burnRate: null, projection: null });
    expect({ name, blocks: active.map(strip) }).toEqual({ name, blocks: all.map(strip) });
    expect({ name, n: active.length }).toEqual({ name, n: name === "none active" ? 0 : 1 });
  }
});
