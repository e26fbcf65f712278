// `sluice statusline` as Claude Code runs it: its status JSON on stdin (as Claude Code 2.x writes
// it, with and without rate_limits), the real binary, a real index. The line's session cost is the
// session report's; a transcript that grew since the last index is brought in first; a missing
// transcript, a locked database, an index follower holding the writer's claim and garbage on stdin
// each still give one line and exit 0.

import { afterAll, expect, test } from "bun:test";
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, SHARED, tempDir } from "./helpers";
import { transcript } from "./transcripts";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-statusline-");
afterAll(() => tmp.cleanup());
const SESSION = "29ccd257-68b1-427f-ae5f-6524b7cb6f20";
const claude = join(tmp.dir, "claude");
cpSync(join(SHARED, "samples", "claude", "projects"), join(claude, "projects"), { recursive: true });
mkdirSync(join(tmp.dir, "codex"));
const TRANSCRIPT = join(claude, "projects", "-src-experiments-claude_p", `${SESSION}.jsonl`);
const DB = join(tmp.dir, "sluice.db");

/** Claude Code's status JSON, as 2.x writes it. */
function status(extra: Record<string, unknown> = {}) {
  return {
    hook_event_name: "Status", session_id: SESSION, transcript_path: TRANSCRIPT, cwd: "/src/experiments/claude_p",
    model: { id: "claude-opus-4-5-20251101", display_name: "Opus 4.5" }, workspace: { current_dir: "/src/experiments/claude_p", project_dir: "/src/experiments/claude_p" },
    version: "2.1.42", output_style: { name: "default" },
    cost: { total_cost_usd: 0.1234, total_duration_ms: 45_000, total_api_duration_ms: 2_300, total_lines_added: 156, total_lines_removed: 23 },
    context_window: {
      total_input_tokens: 15_234, total_output_tokens: 4_521, context_window_size: 200_000,
      current_usage: { input_tokens: 8_500, output_tokens: 1_200, cache_creation_input_tokens: 5_000, cache_read_input_tokens: 2_000 },
    },
    exceeds_200k_tokens: false,
    ...extra,
  };
}

const RATE_LIMITS = { rate_limits: { five_hour: { used_percentage: 23.5, resets_at: 1_764_770_400 }, seven_day: { used_percentage: 41.2, resets_at: 1_765_000_000 } } };

async function statusline(input: string | object, ...args: string[]) {
  const stdin = new TextEncoder().encode(typeof input === "string" ? input : JSON.stringify(input));
  const r = await run(BIN, ["statusline", "--db", DB, ...args], { stdin });
  expect({ code: r.code, lines: r.stdout.split("\n").length, stderr: r.stderr }).toEqual({ code: 0, lines: 2, stderr: "" });
  return r.stdout.trim();
}

async function sessionCost(): Promise<number> {
  const r = await run(BIN, ["report", "session", "--id", SESSION, "--db", DB, "--json"]);
  return JSON.parse(r.stdout).sessions[0].totalCost;
}

test("the line: model, the index's session cost (subagents in), context, and the official limits when given", async () => {
  expect((await run(BIN, ["index", "--claude", claude, "--codex", join(tmp.dir, "codex"), "--db", DB])).code).toBe(0);
  const cost = await sessionCost();
  expect(cost).toBeCloseTo(0.1497523, 6);
  const line = await statusline(status(RATE_LIMITS));
  expect(line).toStartWith("🤖 Opus 4.5 | 💰 $0.15 session / $0.00 today | 🧠 15,500 (8%) | ⏳ 5h 24% · 7d 41%");
  const json = JSON.parse(await statusline(status(RATE_LIMITS), "--json"));
  expect(json).toMatchObject({ model: "Opus 4.5", sessionCostSource: "index", contextTokens: 15_500, fiveHour: { percent: 23.5, resetsAt: "2025-12-03T14:00:00.000Z" } });
  expect(json.sessionCost).toBeCloseTo(cost, 9);
  // without rate_limits (an API-key user): no limits part
  expect(await statusline(status())).not.toContain("⏳");
});

test("a transcript that grew since the last index run is brought in first, through the index's writer", async () => {
  const before = await sessionCost();
  const now = Date.now();
  // a call now, at opus-4-5's $5 per million input tokens: $5 more
  const grown = transcript(SESSION, [{ at: now - 60_000, input: 1_000_000, model: "claude-opus-4-5-20251101" }]).split("\n")[1]!;
  appendFileSync(TRANSCRIPT, grown + "\n");
  const json = JSON.parse(await statusline(status(), "--json"));
  expect(json.sessionCost).toBeCloseTo(before + 5, 6);
  expect(json.todayCost).toBeGreaterThanOrEqual(5);
  expect(json.block).toMatchObject({ cost: 5 });
  // the index has it now: the report says the same, and a second run adds nothing
  expect(await sessionCost()).toBeCloseTo(before + 5, 6);
  expect(JSON.parse(await statusline(status(), "--json")).sessionCost).toBeCloseTo(before + 5, 6);
  expect(await statusline(status())).toMatch(/\$5\.00 block \(\d+h \d\dm left\)/);
});

test("a missing transcript, garbage on stdin, nothing on stdin: one line, exit 0", async () => {
  expect(await statusline(status({ transcript_path: join(tmp.dir, "gone.jsonl") }))).toContain("💰 $");
  expect(await statusline("{not json")).toBe("sluice: stdin is not Claude Code's status JSON");
  expect(await statusline("[1,2]")).toBe("sluice: stdin is not Claude Code's status JSON");
  const r = await run(BIN, ["statusline", "--db", DB]);
  expect([r.code, r.stdout.trim()]).toEqual([0, "sluice: stdin is not Claude Code's status JSON"]);
  // no index at all: the JSON's own figures, and how to get the rest
  const none = await run(BIN, ["statusline", "--db", join(tmp.dir, "none.db")], { stdin: new TextEncoder().encode(JSON.stringify(status())) });
  expect([none.code, none.stdout.trim()]).toEqual([0, "🤖 Opus 4.5 | 💰 $0.12 session | 🧠 15,500 (8%) | no sluice index: run 'sluice index'"]);
});

test("a database another program holds the write lock of: the line from the index as it stands, at once", async () => {
  const holder = Bun.spawn([process.execPath, "-e", `
    const { Database } = require("bun:sqlite");
    const db = new Database(${JSON.stringify(DB)});
    db.run("BEGIN IMMEDIATE");
    console.log("held");
    await Bun.sleep(20000);`], { stdout: "pipe", stderr: "inherit" });
  const reader = holder.stdout.getReader();
  await reader.read();
  try {
    appendFileSync(TRANSCRIPT, transcript(SESSION, [{ at: Date.now() - 30_000, input: 2_000_000, model: "claude-opus-4-5-20251101" }]).split("\n")[1]! + "\n");
    const started = performance.now();
    const json = JSON.parse(await statusline(status(), "--json"));
    expect(performance.now() - started).toBeLessThan(5_000);
    // not indexed (the lock): the cost the index had
    expect(json.sessionCost).toBeCloseTo(await sessionCost(), 6);
  } finally {
    holder.kill();
    await holder.exited;
  }
  // once the lock is gone, the next run brings it in
  const json = JSON.parse(await statusline(status(), "--json"));
  expect(json.block.cost).toBeCloseTo(15, 6);
});

test("a copy of the transcript elsewhere with the same session id: each line shows the session its transcript_path holds", async () => {
  const sample = join(SHARED, "samples", "claude", "projects", "-src-experiments-claude_p");
  // the original's first 40 lines as other calls (their message and request ids changed): a
  // copy of identical calls would be the same calls, counted once, in whichever session came first
  const head = (await Bun.file(join(sample, `${SESSION}.jsonl`)).text()).split("\n").slice(0, 40)
    .map((l) => l.replace(/"((?:msg|req|toolu)_[A-Za-z0-9_-]+)"(?!\s*:)/g, `"$1-copy"`)).join("\n") + "\n";
  /** A projects tree with the original (and its subagents), the copy (in another project), or both. */
  const tree = (name: string, original: boolean, copy: boolean) => {
    const root = join(tmp.dir, name, "projects");
    if (original) cpSync(sample, join(root, "-src-experiments-claude_p"), { recursive: true });
    if (copy) {
      mkdirSync(join(root, "-src-elsewhere"), { recursive: true });
      writeFileSync(join(root, "-src-elsewhere", "copied.jsonl"), head);
    }
    return root;
  };
  const costOf = async (name: string, original: boolean, copy: boolean) => {
    const root = tree(name, original, copy), db = join(tmp.dir, `${name}.db`);
    expect((await run(BIN, ["index", "--claude", root, "--codex", join(tmp.dir, "codex"), "--db", db])).code).toBe(0);
    const r = JSON.parse((await run(BIN, ["report", "session", "--id", SESSION, "--db", db, "--json"])).stdout);
    return { root, db, cost: r.sessions[0].totalCost as number };
  };
  const original = await costOf("only-original", true, false);
  const copied = await costOf("only-copy", false, true);
  const both = await costOf("both", true, true);
  expect(copied.cost).toBeGreaterThan(0);
  expect(copied.cost).toBeLessThan(original.cost);
  // the report names the session by its id: both files fold into it
  expect(both.cost).toBeCloseTo(original.cost + copied.cost, 6);
  const line = async (transcriptPath: string) => {
    const input = JSON.stringify(status({ transcript_path: transcriptPath }));
    const r = await run(BIN, ["statusline", "--db", both.db, "--json"], { stdin: new TextEncoder().encode(input) });
    return JSON.parse(r.stdout) as { sessionCost: number; sessionCostSource: string };
  };
  expect(await line(join(both.root, "-src-experiments-claude_p", `${SESSION}.jsonl`))).toMatchObject({ sessionCostSource: "index", sessionCost: expect.closeTo(original.cost, 6) });
  expect(await line(join(both.root, "-src-elsewhere", "copied.jsonl"))).toMatchObject({ sessionCostSource: "index", sessionCost: expect.closeTo(copied.cost, 6) });
});
