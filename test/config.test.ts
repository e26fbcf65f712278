// The config file, through the real binary: its database, time zone, price overlay and budgets are
// the defaults; a flag beats the environment, which beats the file; --config names another file;
// every mistake in it is one line that names the file and the key, exit 2 (the status line: one
// line and exit 0, as always).

import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, tempDir } from "./helpers";
import { writeClaude } from "./transcripts";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-config-");
afterAll(() => tmp.cleanup());
const home = join(tmp.dir, "home");
const xdg = join(home, ".config");
const file = join(xdg, "sluice", "config.json");
mkdirSync(join(xdg, "sluice"), { recursive: true });
const DB = join(tmp.dir, "data", "sluice.db");
// 20:30 UTC on the 20th is the 21st in Kolkata (+05:30)
const AT = Date.parse("2025-11-20T20:30:00Z");
const env = { HOME: home, XDG_CONFIG_HOME: xdg, SLUICE_DB: "" };

function writeConfig(value: unknown, path = file) {
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
}

async function sluice(...args: string[]) {
  return run(BIN, args, { env });
}

test("the file's database, time zone and price overlay are the defaults; flags and $SLUICE_DB beat it", async () => {
  writeClaude(join(tmp.dir, "claude"), { s1: [{ at: AT, input: 1_000_000, model: "claude-sonnet-4-5-20250929" }] });
  mkdirSync(join(tmp.dir, "codex"));
  mkdirSync(join(tmp.dir, "data"));
  writeFileSync(join(tmp.dir, "data", "prices.json"), JSON.stringify({ "claude-sonnet-4-5": { input: 7, output: 15, cacheWrite5m: 8.75, cacheWrite1h: 14, cacheRead: 0.7 } }));
  // relative paths are the file's: data/ beside config.json's directory's parent is named from it
  writeConfig({ db: "../../../data/sluice.db", tz: "Asia/Kolkata", prices: "../../../data/prices.json" });
  expect((await sluice("index", "--claude", join(tmp.dir, "claude"), "--codex", join(tmp.dir, "codex"))).code).toBe(0);
  const r = await sluice("report", "daily", "--json");
  expect(r.code).toBe(0);
  const daily = JSON.parse(r.stdout).daily;
  expect(daily.map((d: any) => [d.date, d.totalCost])).toEqual([["2025-11-21", 7]]);
  // a flag beats the file
  const utc = JSON.parse((await sluice("report", "daily", "--json", "--tz", "UTC")).stdout).daily;
  expect(utc.map((d: any) => d.date)).toEqual(["2025-11-20"]);
  // $SLUICE_DB beats the file: an empty database there has no deep index
  const other = await run(BIN, ["report", "daily"], { env: { ...env, SLUICE_DB: join(tmp.dir, "other.db") } });
  expect(other.code).not.toBe(0);
});

test("--config names another file; a named file that is missing is an error", async () => {
  const second = join(tmp.dir, "second.json");
  writeConfig({ db: DB, tz: "UTC" }, second);
  const r = await sluice("report", "daily", "--json", "--config", second);
  expect(JSON.parse(r.stdout).daily.map((d: any) => d.date)).toEqual(["2025-11-20"]);
  const missing = await sluice("report", "daily", "--config", join(tmp.dir, "nope.json"));
  expect([missing.code, missing.stdout, missing.stderr.trim().split("\n").length]).toEqual([2, "", 1]);
  expect(missing.stderr).toContain(`config ${join(tmp.dir, "nope.json")}: no such file`);
});

test("mistakes in the file: one line naming the file and the key, exit 2, nothing on stdout", async () => {
  const cases: Array<[unknown, string]> = [
    [{ tzz: "UTC" }, "unknown key 'tzz'; did you mean 'tz'"],
    [{ budget: { dialy: 5 } }, "unknown key 'budget.dialy'"],
    [{ tz: 5 }, "'tz' must be a string"],
    [{ budget: 5 }, "budget must be an object"],
    ["{ tz: 'UTC' ", "is not JSON"],
    [[1], "the file must be an object"],
  ];
  for (const [value, message] of cases) {
    writeConfig(value);
    const r = await sluice("report", "daily");
    expect({ value, code: r.code, stdout: r.stdout, lines: r.stderr.trim().split("\n").length }).toEqual({ value, code: 2, stdout: "", lines: 1 });
    expect(r.stderr).toContain(`config ${file}`);
    expect(r.stderr).toContain(message);
    // the status line never fails its host
    const s = await run(BIN, ["statusline"], { env, stdin: new TextEncoder().encode("{}") });
    expect([s.code, s.stdout.startsWith(`sluice: config ${file}`)]).toEqual([0, true]);
  }
});

test("budgets: the status line shows today's and this month's cost against them, and the thresholds colour context", async () => {
  writeConfig({ db: DB, budget: { daily: 2, monthly: 100 }, statusline: { contextLow: 5, contextHigh: 10 } });
  const input = { session_id: "s1", model: { display_name: "Sonnet 4.5" }, context_window: { context_window_size: 200_000, current_usage: { input_tokens: 30_000 } } };
  const s = await run(BIN, ["statusline"], { env: { ...env, NO_COLOR: "", FORCE_COLOR: "1" }, stdin: new TextEncoder().encode(JSON.stringify(input)) });
  expect(s.code).toBe(0);
  expect(s.stdout).toContain("$0.00 of $2.00 today / $0.00 of $100.00 this month");
  // 15% is past contextHigh (10): red
  expect(s.stdout).toContain("\x1b[31m15%\x1b[0m");
});

test("stats shows the budgets against today's and this month's spending, and leaves the verdict alone", async () => {
  // a call a second ago at $3 per million input tokens: $0.30 today
  const claude = join(tmp.dir, "claude-now");
  writeClaude(claude, { now1: [{ at: Date.now() - 1_000, input: 100_000, model: "claude-sonnet-4-5-20250929" }] });
  const db = join(tmp.dir, "budget.db");
  expect((await sluice("index", "--claude", claude, "--codex", join(tmp.dir, "codex"), "--db", db)).code).toBe(0);
  writeConfig({ budget: { daily: 0.2, monthly: 100 } });
  const r = await sluice("stats", "--db", db, "--json");
  const s = JSON.parse(r.stdout);
  expect(s.budget.daily).toMatchObject({ budget: 0.2, over: true });
  expect(s.budget.daily.spent).toBeCloseTo(0.3, 9);
  expect(s.budget.monthly).toMatchObject({ budget: 100, over: false });
  expect(s.budget.monthly.spent).toBeCloseTo(0.3, 9);
  const text = await sluice("stats", "--db", db);
  expect(text.stdout).toContain("budget     today $0.30 of $0.20 (over), this month $0.30 of $100.00");
  expect(text.code).toBe(r.code);
  writeConfig({});
  expect(JSON.parse((await sluice("stats", "--db", db, "--json")).stdout).budget).toBeNull();
});

test("\"archive\": false in the file indexes counts only; --archive beats it", async () => {
  const claude = join(tmp.dir, "claude-archive");
  writeClaude(claude, { a1: [{ at: Date.parse("2025-11-20T10:00:00Z"), input: 10 }] });
  writeConfig({ archive: false });
  const off = join(tmp.dir, "no-archive.db");
  expect((await sluice("index", "--claude", claude, "--codex", join(tmp.dir, "codex"), "--db", off)).code).toBe(0);
  const chunks = (db: string) => { const d = new Database(db, { readonly: true }); const n = (d.query("SELECT count(*) AS n FROM archive_chunks").get() as { n: number }).n; d.close(); return n; };
  expect(chunks(off)).toBe(0);
  const on = join(tmp.dir, "archive.db");
  expect((await sluice("index", "--claude", claude, "--codex", join(tmp.dir, "codex"), "--db", on, "--archive")).code).toBe(0);
  expect(chunks(on)).toBeGreaterThan(0);
  writeConfig({});
});
