// Our totals against ccusage's (its Rust version, from the npm registry) on the samples, per day
// and model: tokens equal, cost within a millionth of a dollar. Both count each Claude message
// once with its final usage and each advancing Codex total once; where a tool keeps the first line
// of a message instead, deep-index.test.ts shows the undercount.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, SHARED, tempDir } from "./helpers";

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

type Breakdown = { input: number; output: number; cacheWrite: number; cacheRead: number; cost: number };

async function ours(claude: string, codex: string): Promise<Map<string, Breakdown>> {
  const db = join(tmp.dir, `ours-${Math.random()}.db`);
  expect((await run(RUNNERS[1]!.cmd, ["index", "--claude", claude, "--codex", codex, "--db", db])).code).toBe(0);
  const r = await run(RUNNERS[1]!.cmd, ["report", "daily", "--db", db, "--tz", "UTC", "--json"]);
  const out = new Map<string, Breakdown>();
  for (const d of JSON.parse(r.stdout).daily) {
    for (const m of d.modelBreakdowns) out.set(`${d.date} ${m.modelName}`, { input: m.inputTokens, output: m.outputTokens, cacheWrite: m.cacheCreationTokens, cacheRead: m.cacheReadTokens, cost: m.cost });
  }
  return out;
}

async function theirs(agent: "claude" | "codex", env: Record<string, string>): Promise<Map<string, Breakdown>> {
  const r = await run([ccusage], [agent, "daily", "--json", "--offline", "--timezone", "UTC"], { env: { HOME: join(tmp.dir, "home"), ...env } });
  expect(r.code).toBe(0);
  const out = new Map<string, Breakdown>();
  for (const d of JSON.parse(r.stdout).daily) {
    // claude reports list modelBreakdowns; codex reports an object of models with costUSD per day
    if (Array.isArray(d.modelBreakdowns)) {
      for (const m of d.modelBreakdowns) out.set(`${d.date} ${m.modelName}`, { input: m.inputTokens, output: m.outputTokens, cacheWrite: m.cacheCreationTokens, cacheRead: m.cacheReadTokens, cost: m.cost });
    } else {
      const models = Object.entries(d.models as Record<string, any>);
      for (const [name, m] of models) {
        out.set(`${d.date} ${name}`, { input: m.inputTokens, output: m.outputTokens, cacheWrite: m.cacheCreationTokens, cacheRead: m.cacheReadTokens, cost: models.length === 1 ? d.costUSD : NaN });
      }
    }
  }
  return out;
}

function compare(a: Map<string, Breakdown>, b: Map<string, Breakdown>) {
  expect(a.size).toBeGreaterThanOrEqual(3);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, x] of a) {
    const y = b.get(k)!;
    expect({ k, input: x.input, output: x.output, cacheWrite: x.cacheWrite, cacheRead: x.cacheRead }).toEqual({ k, input: y.input, output: y.output, cacheWrite: y.cacheWrite, cacheRead: y.cacheRead });
    if (!Number.isNaN(y.cost)) expect(Math.abs(x.cost - y.cost)).toBeLessThan(1e-6);
  }
}

/** An empty root for the agent a test does not compare (a named root must exist). */
const NONE = join(tmp.dir, "none");
mkdirSync(NONE, { recursive: true });

test("Claude Code transcripts: the same tokens and cost per day and model as ccusage", async () => {
  const cfg = join(tmp.dir, "claude");
  cpSync(join(SAMPLES, "claude", "projects"), join(cfg, "projects"), { recursive: true });
  compare(await ours(cfg, NONE), await theirs("claude", { CLAUDE_CONFIG_DIR: cfg }));
}, 60_000);

test("Codex rollouts: the same tokens and cost per day and model as ccusage", async () => {
  const home = join(tmp.dir, "codex");
  mkdirSync(join(home, "sessions"), { recursive: true });
  cpSync(join(SAMPLES, "codex", "localpush-2026-02-23", "raw", "sessions"), join(home, "sessions", "2026"), { recursive: true });
  cpSync(join(SAMPLES, "codex", "claude-code-log_synthetic", "sessions"), join(home, "sessions", "synthetic"), { recursive: true });
  cpSync(join(SAMPLES, "codex", "ccusage_fixture_session-alpha.jsonl"), join(home, "sessions", "rollout-alpha.jsonl"));
  compare(await ours(NONE, home), await theirs("codex", { CODEX_HOME: home }));
}, 60_000);
