// Our reports against ccusage's (its Rust version, from the npm registry) on the samples: daily and
// weekly per period and model, and the 5-hour blocks field by field. Tokens are equal, cost within
// a millionth of a dollar, times to the second. Both count each Claude message once with its final
// usage and each advancing Codex total once; where a tool keeps the first line of a message
// instead, deep-index.test.ts shows the undercount. Where the two differ on purpose, the test says
// how.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, SHARED, tempDir } from "./helpers";
import { writeClaude } from "./transcripts";

const CCUSAGE_VERSION = "20.0.24";
const tmp = tempDir("sluice-ccusage-");
afterAll(() => tmp.cleanup());
const SAMPLES = join(SHARED, "samples");
const platformPkg = `@ccusage/ccusage-${process.platform}-${process.arch}`;
let ccusage = "";

beforeAll(async () => {
  const dir = join(tmp.dir, "ccusage");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), "{}");
  // the native binary is an optional dependency that installers skip here, so it is named outright
  const r = await run([process.execPath], ["add", "--cwd", dir, `ccusage@${CCUSAGE_VERSION}`, `${platformPkg}@${CCUSAGE_VERSION}`]);
  if (r.code !== 0) throw new Error(`could not install ccusage ${CCUSAGE_VERSION} from the npm registry: ${r.stderr.trim().split("\n").pop()}`);
  ccusage = join(dir, "node_modules", ".bin", "ccusage");
  expect(existsSync(ccusage)).toBe(true);
}, 120_000);

/** An empty root for the agent a test does not compare (a named root must exist); for ccusage, a Claude dir with no projects. */
const NONE = join(tmp.dir, "none");
mkdirSync(join(NONE, "projects"), { recursive: true });

/** The samples copied where each tool looks for them, indexed once by sluice. */
interface Corpus {
  db: string;
  env: Record<string, string>;
}
const corpora = new Map<string, Promise<Corpus>>();

function corpus(agent: "claude" | "codex"): Promise<Corpus> {
  let c = corpora.get(agent);
  if (!c) corpora.set(agent, (c = makeCorpus(agent)));
  return c;
}

async function makeCorpus(agent: "claude" | "codex"): Promise<Corpus> {
  const root = join(tmp.dir, agent);
  if (agent === "claude") cpSync(join(SAMPLES, "claude", "projects"), join(root, "projects"), { recursive: true });
  else {
    mkdirSync(join(root, "sessions"), { recursive: true });
    cpSync(join(SAMPLES, "codex", "localpush-2026-02-23", "raw", "sessions"), join(root, "sessions", "2026"), { recursive: true });
    cpSync(join(SAMPLES, "codex", "claude-code-log_synthetic", "sessions"), join(root, "sessions", "synthetic"), { recursive: true });
    cpSync(join(SAMPLES, "codex", "ccusage_fixture_session-alpha.jsonl"), join(root, "sessions", "rollout-alpha.jsonl"));
  }
  return indexCorpus(agent === "claude" ? root : NONE, agent === "codex" ? root : NONE);
}

async function indexCorpus(claude: string, codex: string): Promise<Corpus> {
  const db = join(tmp.dir, `ours-${Math.random()}.db`);
  expect((await run(RUNNERS[1]!.cmd, ["index", "--claude", claude, "--codex", codex, "--db", db])).code).toBe(0);
  return { db, env: { HOME: join(tmp.dir, "home"), CLAUDE_CONFIG_DIR: claude, CODEX_HOME: codex } };
}

async function ours(c: Corpus, ...args: string[]): Promise<any> {
  const r = await run(RUNNERS[1]!.cmd, ["report", ...args, "--db", c.db, "--json"]);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  return JSON.parse(r.stdout);
}

async function theirs(c: Corpus, ...args: string[]): Promise<any> {
  const r = await run([ccusage], [...args, "--json", "--offline"], { env: c.env });
  expect({ args, code: r.code, stderr: r.stderr.slice(0, 300) }).toEqual({ args, code: 0, stderr: r.stderr.slice(0, 300) });
  return JSON.parse(r.stdout);
}

type Breakdown = { input: number; output: number; cacheWrite: number; cacheRead: number; cost: number };

/** Per `<period> <model>`: its tokens and cost. Claude reports list modelBreakdowns; codex daily reports an object of models with costUSD per day. */
function breakdowns(rows: any[], period: string): Map<string, Breakdown> {
  const out = new Map<string, Breakdown>();
  for (const d of rows) {
    if (Array.isArray(d.modelBreakdowns)) {
      for (const m of d.modelBreakdowns) out.set(`${d[period]} ${m.modelName}`, { input: m.inputTokens, output: m.outputTokens, cacheWrite: m.cacheCreationTokens, cacheRead: m.cacheReadTokens, cost: m.cost });
    } else {
      const models = Object.entries(d.models as Record<string, any>);
      for (const [name, m] of models) {
        out.set(`${d[period]} ${name}`, { input: m.inputTokens, output: m.outputTokens, cacheWrite: m.cacheCreationTokens, cacheRead: m.cacheReadTokens, cost: models.length === 1 ? d.costUSD : NaN });
      }
    }
  }
  return out;
}

function compare(a: Map<string, Breakdown>, b: Map<string, Breakdown>, atLeast = 3) {
  expect(a.size).toBeGreaterThanOrEqual(atLeast);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, x] of a) {
    const y = b.get(k)!;
    expect({ k, input: x.input, output: x.output, cacheWrite: x.cacheWrite, cacheRead: x.cacheRead }).toEqual({ k, input: y.input, output: y.output, cacheWrite: y.cacheWrite, cacheRead: y.cacheRead });
    if (!Number.isNaN(y.cost)) expect(Math.abs(x.cost - y.cost)).toBeLessThan(1e-6);
  }
}

const TOTAL_FIELDS = ["inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"] as const;

/**
 * A period report's rows and totals: every token field equal, every cost within a millionth.
 * `extra` is what ccusage's totalTokens holds beyond the four counts, per period (see Codex).
 */
function comparePeriods(a: any, b: any, list: string, period: string, theirPeriod = period, extra = new Map<string, number>()) {
  compare(breakdowns(a[list], period), breakdowns(b[list], theirPeriod), 2);
  const row = (x: any, p: string, plus = 0) => [x[p], ...TOTAL_FIELDS.map((f) => x[f] + (f === "totalTokens" ? plus : 0))];
  expect(a[list].map((x: any) => row(x, period, extra.get(x[period])))).toEqual(b[list].map((x: any) => row(x, theirPeriod)));
  a[list].forEach((x: any, i: number) => expect(Math.abs(x.totalCost - b[list][i].totalCost)).toBeLessThan(1e-6));
  const allExtra = [...extra.values()].reduce((s, x) => s + x, 0);
  expect(TOTAL_FIELDS.map((f) => a.totals[f] + (f === "totalTokens" ? allExtra : 0))).toEqual(TOTAL_FIELDS.map((f) => b.totals[f]));
  expect(Math.abs(a.totals.totalCost - b.totals.totalCost)).toBeLessThan(1e-6);
}

describe("daily", () => {
  test("Claude Code transcripts: the same tokens and cost per day and model as ccusage", async () => {
    const c = await corpus("claude");
    compare(breakdowns((await ours(c, "daily", "--tz", "UTC")).daily, "date"), breakdowns((await theirs(c, "claude", "daily", "--timezone", "UTC")).daily, "date"));
  }, 60_000);

  test("Codex rollouts: the same tokens and cost per day and model as ccusage", async () => {
    const c = await corpus("codex");
    compare(breakdowns((await ours(c, "daily", "--tz", "UTC")).daily, "date"), breakdowns((await theirs(c, "codex", "daily", "--timezone", "UTC")).daily, "date"));
  }, 60_000);
});

describe("weekly", () => {
  // New York and Kolkata (a half-hour offset) with these first days move calls of the samples into
  // another week than UTC does: the zone is exercised, not only the arithmetic of weeks
  for (const [tz, start] of [["UTC", undefined], ["America/New_York", "tuesday"], ["Asia/Kolkata", "monday"]] as const) {
    test(`Claude Code transcripts in ${tz}, weeks from ${start ?? "sunday (the default)"}: every row, model and total as ccusage's`, async () => {
      const c = await corpus("claude");
      const week = start ? ["--start-of-week", start] : [];
      const us = await ours(c, "weekly", "--tz", tz, ...week);
      comparePeriods(us, await theirs(c, "claude", "weekly", "--timezone", tz, ...week), "weekly", "week");
      const inUtc = await ours(c, "weekly", "--tz", "UTC", ...week);
      const rows = (r: any) => r.weekly.map((w: any) => [w.week, w.totalTokens]);
      if (tz !== "UTC") expect(rows(us)).not.toEqual(rows(inUtc));
    }, 60_000);
  }

  test("Codex rollouts: as ccusage's weekly of all agents, which names the week `period` and starts it on Monday", async () => {
    // `ccusage codex` has no weekly report; its all-agents `weekly` reads Codex too, and takes no --start-of-week
    const c = await corpus("codex");
    const them = await theirs({ ...c, env: { ...c.env, CLAUDE_CONFIG_DIR: NONE } }, "weekly", "--timezone", "UTC");
    const us = await ours(c, "weekly", "--tz", "UTC", "--start-of-week", "monday");
    // Where they differ: ccusage's totalTokens is a Codex event's total_tokens as logged. A real
    // rollout logs input + output (its reasoning tokens are part of output); the synthetic fixture
    // logs 1000 + 125 as 1200, its 75 reasoning tokens counted again. sluice's total is the sum of
    // the counts, so the fixture's week differs by what its logs add, read from ccusage's daily.
    const extra = new Map<string, number>();
    for (const d of (await theirs(c, "codex", "daily", "--timezone", "UTC")).daily) {
      const week = us.weekly.find((w: any) => w.week <= d.date && d.date < new Date(Date.parse(`${w.week}T00:00:00Z`) + 7 * 86_400_000).toISOString().slice(0, 10)).week;
      extra.set(week, (extra.get(week) ?? 0) + d.totalTokens - d.inputTokens - d.outputTokens - d.cacheReadTokens);
    }
    expect([...extra.values()]).toEqual([0, 275]);
    comparePeriods(us, them, "weekly", "week", "period", extra);
  }, 60_000);
});

describe("monthly", () => {
  test("Codex rollouts: the same tokens and cost per month and model as ccusage", async () => {
    const c = await corpus("codex");
    compare(breakdowns((await ours(c, "monthly", "--tz", "UTC")).monthly, "month"), breakdowns((await theirs(c, "codex", "monthly", "--timezone", "UTC")).monthly, "month"), 2);
  }, 60_000);

  for (const tz of ["UTC", "Pacific/Auckland"]) {
    test(`Claude Code transcripts in ${tz}: every month, model and total as ccusage's`, async () => {
      const c = await corpus("claude");
      comparePeriods(await ours(c, "monthly", "--tz", tz), await theirs(c, "claude", "monthly", "--timezone", tz), "monthly", "month");
    }, 60_000);
  }
});

/** Seconds of an ISO time: "times to the second". */
const second = (t: string | null) => (t === null ? null : t.slice(0, 19));

/** Every field both give for a block: tokens exact, cost within a millionth, times to the second, the burn rate within a billionth. */
function compareBlock(x: any, y: any) {
  const fields = (b: any) => ({
    id: b.id.replace(/\.\d{3}Z$/, ""), startTime: second(b.startTime), endTime: second(b.endTime), actualEndTime: second(b.actualEndTime),
    isActive: b.isActive, isGap: b.isGap, entries: b.entries, tokenCounts: b.tokenCounts, totalTokens: b.totalTokens, models: b.models, burnRate: b.burnRate === null,
  });
  expect(fields(x)).toEqual(fields(y));
  expect(Math.abs(x.costUSD - y.costUSD)).toBeLessThan(1e-6);
  if (x.burnRate) for (const k of ["tokensPerMinute", "tokensPerMinuteForIndicator", "costPerHour"]) expect(Math.abs(x.burnRate[k] - y.burnRate[k])).toBeLessThan(1e-9 * Math.max(1, y.burnRate[k]));
}

describe("blocks", () => {
  for (const args of [["--timezone", "UTC"], ["--session-length", "2.5"], ["--session-length", "1"], ["--timezone", "America/New_York", "--since", "20251113", "--until", "20251120"]]) {
    test(`Claude Code transcripts, ${args.join(" ")}: every block and gap as ccusage's, field by field`, async () => {
      const c = await corpus("claude");
      const a = (await ours(c, "blocks", ...args.map((x) => (x === "--timezone" ? "--tz" : x)))).blocks;
      const b = (await theirs(c, "claude", "blocks", ...args)).blocks;
      expect(a.length).toBeGreaterThanOrEqual(args.includes("--since") ? 4 : 20);
      expect(a.length).toBe(b.length);
      a.forEach((x: any, i: number) => compareBlock(x, b[i]));
    }, 60_000);
  }

  test("an active block: the same burn rate, a projection within the minute the two runs are apart; max taken before --active", async () => {
    const now = Date.now();
    const hour = 3_600_000, start = Math.floor(now / hour) * hour - 3 * hour;
    const claude = writeClaude(join(tmp.dir, "active"), {
      before: [{ at: start - 30 * hour, input: 40_000, output: 900 }, { at: start - 29 * hour, input: 5_000, output: 100 }],
      now: [{ at: start + 60_000, input: 2_000, output: 300, cacheRead: 9_000 }, { at: now - 120_000, input: 3_000, output: 500, cacheWrite: 4_000 }],
    });
    const c = await indexCorpus(claude, NONE);
    const a = (await ours(c, "blocks", "--token-limit", "1000000")).blocks;
    const b = (await theirs(c, "claude", "blocks", "--token-limit", "1000000")).blocks;
    expect(a.map((x: any) => [x.isGap, x.isActive])).toEqual([[false, false], [true, false], [false, true]]);
    expect(a.length).toBe(b.length);
    a.forEach((x: any, i: number) => compareBlock(x, b[i]));
    const [p, q] = [a[2].projection, b[2].projection];
    expect(Math.abs(p.remainingMinutes - q.remainingMinutes)).toBeLessThanOrEqual(1);
    expect(Math.abs(p.totalTokens - q.totalTokens)).toBeLessThanOrEqual(Math.ceil(a[2].burnRate.tokensPerMinute) + 1);
    expect(Math.abs(p.totalCost - q.totalCost)).toBeLessThanOrEqual(a[2].burnRate.costPerHour / 60 + 0.01);
    expect([a[2].tokenLimitStatus.status, a[2].tokenLimitStatus.limit]).toEqual([b[2].tokenLimitStatus.status, b[2].tokenLimitStatus.limit]);
    // Where they differ: with --active, ccusage 20.0.24 takes "max" from the blocks --active left
    // (the active one alone, which never counts), so it has no limit; sluice takes the largest
    // block before the active one, as `--token-limit max` says and as ccusage's TypeScript versions did.
    const ourActive = (await ours(c, "blocks", "--active", "--token-limit", "max")).blocks;
    const theirActive = (await theirs(c, "claude", "blocks", "--active", "--token-limit", "max")).blocks;
    expect(theirActive.map((x: any) => [x.isActive, x.tokenLimitStatus])).toEqual([[true, undefined]]);
    expect(ourActive.map((x: any) => [x.isActive, x.tokenLimitStatus.limit])).toEqual([[true, 46_000]]);
    // without --active both take it from the earlier block
    const all = (await theirs(c, "claude", "blocks", "--token-limit", "max")).blocks;
    expect(all[2].tokenLimitStatus.limit).toBe(46_000);
  }, 60_000);
});

describe("session", () => {
  test("Claude Code transcripts: every session's tokens, cost and times as ccusage's; subagents folded into the session that ran them", async () => {
    const c = await corpus("claude");
    const us = await ours(c, "session", "--tz", "UTC");
    const apart = (await ours(c, "session", "--tz", "UTC", "--subagents")).sessions as any[];
    const them = (await theirs(c, "claude", "session", "--timezone", "UTC")).sessions as any[];
    const ourIds = new Set(us.sessions.map((s: any) => s.sessionId));
    // Where they differ: ccusage folds a subagent of the newer layout (<session>/subagents/) into
    // its session but lists one of the earlier flat layout (<project>/agent-<id>.jsonl) as a session
    // "agent-<id>". sluice folds both into the session their lines name (when it is in the index),
    // and names a subagent listed apart <parent>/agent-<id>. ccusage's projectPath is Claude Code's
    // directory name ("-Users-me-src-x"); sluice's is the working directory the log names.
    const legacy = new Map<string, string>();
    for (const t of them.filter((x) => x.sessionId.startsWith("agent-"))) {
      const sub = apart.find((x) => x.sessionId.endsWith(`/${t.sessionId}`));
      expect(sub).toBeDefined();
      legacy.set(t.sessionId, ourIds.has(sub.parentSession) ? sub.parentSession : sub.sessionId);
    }
    expect(legacy.size).toBeGreaterThanOrEqual(3);
    expect([...legacy.values()].filter((k) => ourIds.has(k) && !k.includes("/")).length).toBeGreaterThanOrEqual(1);
    const sum = new Map<string, any>();
    for (const t of them) {
      const key = legacy.get(t.sessionId) ?? t.sessionId;
      const s = sum.get(key) ?? { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, totalTokens: 0, totalCost: 0, merged: 0 };
      for (const f of [...TOTAL_FIELDS, "totalCost"]) s[f] += t[f];
      Object.assign(s, { merged: s.merged + 1, firstActivity: t.firstActivity, lastActivity: t.lastActivity });
      sum.set(key, s);
    }
    expect([...ourIds].sort()).toEqual([...sum.keys()].sort());
    for (const x of us.sessions) {
      const y = sum.get(x.sessionId);
      expect({ id: x.sessionId, ...Object.fromEntries(TOTAL_FIELDS.map((f) => [f, x[f]])) }).toEqual({ id: x.sessionId, ...Object.fromEntries(TOTAL_FIELDS.map((f) => [f, y[f]])) });
      expect(Math.abs(x.totalCost - y.totalCost)).toBeLessThan(1e-6);
      if (y.merged === 1) expect([second(x.firstActivity), second(x.lastActivity)]).toEqual([second(y.firstActivity), second(y.lastActivity)]);
    }
    // a session new-layout subagents ran in: its calls are in its row, as in ccusage's
    expect(us.sessions.some((x: any) => x.subagents > 0 && !x.sessionId.includes("/"))).toBe(true);
  }, 60_000);

  test("Codex rollouts: every session's tokens, reasoning tokens, cost and last activity as ccusage's", async () => {
    const c = await corpus("codex");
    const us = (await ours(c, "session", "--tz", "UTC")).sessions as any[];
    const them = (await theirs(c, "codex", "session", "--timezone", "UTC")).sessions as any[];
    // ccusage names a Codex session by its file (<dir>/rollout-<time>-<id>); sluice by the id inside it
    const idOf = (t: any) => /-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(t.sessionId)?.[1] ?? t.sessionId.split("/").pop();
    const key = (x: any) => [x.inputTokens, x.outputTokens, x.cacheReadTokens, second(x.lastActivity)];
    expect(us.length).toBeGreaterThanOrEqual(3);
    expect(new Map(us.map((x) => [x.sessionId, [...key(x), x.reasoningTokens]]))).toEqual(new Map(them.map((t) => [idOf(t), [...key(t), t.reasoningOutputTokens]])));
    for (const x of us) expect(Math.abs(x.totalCost - them.find((t) => idOf(t) === x.sessionId).costUSD)).toBeLessThan(1e-6);
  }, 60_000);

  test("--id: the session's calls as ccusage's entries, with the subagent's", async () => {
    const c = await corpus("claude");
    const id = "29ccd257-68b1-427f-ae5f-6524b7cb6f20";
    const us = await ours(c, "session", "--id", id.slice(0, 8));
    const them = await theirs(c, "claude", "session", "--id", id);
    expect([us.sessions[0].sessionId, us.sessions[0].totalTokens]).toEqual([them.sessionId, them.totalTokens]);
    expect(Math.abs(us.sessions[0].totalCost - them.totalCost)).toBeLessThan(1e-6);
    const calls = (r: any[]) => r.map((e) => [second(e.timestamp), e.model, e.inputTokens, e.outputTokens, e.cacheCreationTokens, e.cacheReadTokens]).sort();
    expect(calls(us.entries)).toEqual(calls(them.entries));
  }, 60_000);
});
