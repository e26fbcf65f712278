// The deep index on the real samples in ../shared/samples: every line format parses, tokens are
// counted once with their final usage, Codex repeats are not double-counted, indexing is
// incremental, and the reports add up, with ccusage's field names.

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAgentCorpus, variant } from "../bench/agent-corpus";
import { useIndexSettings, withRollbackJournal } from "../src/db/settings";
import { BUCKET_SQL, BUCKET_SUMS_SQL } from "../src/deep-index/usage-buckets";
import { modeOf, one, query, RUNNERS, run, scratch, SHARED, start } from "./helpers";

const { tmp, fresh, emptyDir } = scratch("sluice-index-");
afterAll(() => tmp.cleanup());
const SAMPLES = join(SHARED, "samples");
const BIN = RUNNERS[1]!.cmd;
const sluice = (...args: string[]) => run(BIN, args);

// Everything the index holds, by content: ids and indexing times aside.
const CONTENT = [
  "SELECT s.session_key, t.seq, t.message_id, t.request_id, t.model, t.at, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_5m_tokens, t.cache_write_1h_tokens, t.stop_reason, t.is_sidechain, t.byte_offset FROM turns t JOIN sessions s ON s.id = t.session_id ORDER BY s.session_key, t.seq, t.message_id",
  "SELECT s.session_key, i.kind, i.name, i.tool_use_id, i.is_error, i.byte_offset, t.message_id FROM invocations i JOIN sessions s ON s.id = i.session_id LEFT JOIN turns t ON t.id = i.turn_id ORDER BY s.session_key, i.byte_offset, i.tool_use_id",
  "SELECT session_key, agent_session_id, project, parent_session, turns, user_messages, tool_calls, input_tokens, output_tokens, first_at, last_at, primary_model, summary, first_prompt, compactions FROM sessions ORDER BY session_key",
  "SELECT * FROM usage_buckets ORDER BY bucket, model",
  "SELECT s.session_key, u.model, u.calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_5m_tokens, u.cache_write_1h_tokens, u.input_above, u.reasoning_tokens, u.first_at, u.last_at FROM session_usage u JOIN sessions s ON s.id = u.session_id ORDER BY 1, 2",
  "SELECT id, calls, first_seen, last_seen FROM models ORDER BY id",
  "SELECT path, size, indexed_offset, lines, malformed, unknown, state FROM agent_files ORDER BY path",
];

async function index(db: string, claude: string, codex: string, ...more: string[]) {
  const r = await sluice("index", "--claude", claude, "--codex", codex, "--db", db, "--json", ...more);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** Output tokens if each (message id, request id) kept its first line, as some tools do. */
function firstLineOutput(file: string): { first: number; last: number } {
  const first = new Map<string, number>(), best = new Map<string, number>();
  for (const l of readFileSync(file, "utf8").split("\n")) {
    let o: any;
    try {
      o = JSON.parse(l);
    } catch {
      continue;
    }
    const u = o?.message?.usage;
    if (o?.type !== "assistant" || !u) continue;
    const k = `${o.message.id}|${o.requestId}`;
    if (!first.has(k)) first.set(k, u.output_tokens);
    best.set(k, Math.max(best.get(k) ?? 0, u.output_tokens));
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { first: sum(first), last: sum(best) };
}

describe("the samples", () => {
  const db = fresh("samples.db");

  test("every file indexes: sessions, subagents of both layouts, malformed and unknown lines counted, never fatal", async () => {
    const r = await index(db, `${SAMPLES}/claude/projects,${SAMPLES}/claude/synthetic`, `${SAMPLES}/codex`);
    expect(r.new).toBe(r.files);
    expect(r.files).toBeGreaterThan(35);
    // camelCase, in the words of the text output ("N new, N grown, N rewritten, N unchanged")
    expect(Object.keys(r).sort()).toEqual(
      ["files", "new", "grown", "rewritten", "unchanged", "bytes", "lines", "malformed", "unknown", "sessions", "turns", "ms", "writeMs", "flowsRebuilt", "flowsMs", "roots", "unarchived"].sort(),
    );
    // the only malformed lines are in the fixtures made to have them
    for (const f of query(db, "SELECT path, malformed FROM agent_files WHERE malformed > 0")) expect(f.path).toMatch(/synthetic/);
    expect(one(db, "SELECT sum(malformed) AS n FROM agent_files WHERE path LIKE '%/claude/projects/%'").n).toBe(0);
    // the 0-byte transcript is a session with nothing in it
    expect(one(db, "SELECT turns FROM sessions WHERE file LIKE '%b8b48015-0e89-4b2a-8438-bd16c8c50338.jsonl'").turns).toBe(0);
    // subagents: the 2.1.2+ layout names its parent by directory; the older one by its lines
    const sub = one(db, "SELECT parent_session, is_sidechain FROM sessions WHERE file LIKE '%/subagents/agent-a2271d1.jsonl'");
    expect(sub).toEqual({ parent_session: "29ccd257-68b1-427f-ae5f-6524b7cb6f20", is_sidechain: 1 });
    const old = one(db, "SELECT parent_session, is_sidechain FROM sessions WHERE file LIKE '%JSSoundRecorder/agent-3430b97e.jsonl'");
    expect(old.is_sidechain).toBe(1);
    expect(old.parent_session).toBeTruthy();
    // session facts from the lines
    const s = one(db, "SELECT * FROM sessions WHERE session_key = 'claude:326189cf-5676-4237-8cde-1ce80aae4a9f'");
    expect(s.project).toBe("/Users/dain/workspace/claude-code-log");
    expect(s.tool_version).toMatch(/^1\.0\./);
    expect(s.summary).toBeTruthy();
    expect(s.turns).toBeGreaterThan(5);
    expect(s.tool_calls).toBeGreaterThan(5);
    expect(s.primary_model).toBe("claude-sonnet-4-20250514");
    // no turn of the <synthetic> model, and every (message, request) once
    expect(one(db, "SELECT count(*) AS n FROM turns WHERE model = '<synthetic>'").n).toBe(0);
    expect(one(db, "SELECT count(*) AS n FROM (SELECT 1 FROM turns WHERE message_id IS NOT NULL GROUP BY message_id, request_id HAVING count(*) > 1)").n).toBe(0);
    // models: exactly the models of the turns, each with its call count
    expect(query(db, "SELECT id, calls FROM models ORDER BY id")).toEqual(query(db, "SELECT model AS id, count(*) AS calls FROM turns WHERE model IS NOT NULL GROUP BY model ORDER BY model"));
    const m = one(db, "SELECT * FROM models WHERE id = 'claude-sonnet-4-20250514'");
    expect([m.provider, m.family]).toEqual(["anthropic", "sonnet"]);
    expect(m.calls).toBe(one(db, "SELECT count(*) AS n FROM turns WHERE model = 'claude-sonnet-4-20250514'").n);
    expect(one(db, "SELECT provider FROM models WHERE id = 'gpt-5.3-codex'").provider).toBe("openai");
    // invocations: kinds, and the error flag from their results
    expect(one(db, "SELECT count(*) AS n FROM invocations WHERE kind = 'tool' AND is_error IS NOT NULL").n).toBeGreaterThan(10);
  });

  test("parsed in worker threads (--jobs 2) or in one (--jobs 0), written in bulk or file by file, the index is the same", async () => {
    const threads = fresh("threads.db"), one_ = fresh("one-thread.db"), bulk = fresh("bulk.db");
    const roots = [`${SAMPLES}/claude/projects,${SAMPLES}/claude/synthetic`, `${SAMPLES}/codex`] as const;
    await index(threads, ...roots, "--jobs", "2", "--no-bulk");
    await index(one_, ...roots, "--jobs", "0", "--no-bulk");
    const loaded = await run(BIN, ["index", "--claude", roots[0], "--codex", roots[1], "--db", bulk, "--json", "--bulk"], { env: { SLUICE_LOG_LEVEL: "4" } });
    expect(loaded.code).toBe(0);
    // its search index built by a worker thread beside the final transaction and copied in (not FTS5's rebuild there)
    expect(loaded.stderr).toContain("the search index was built by a worker thread beside the final transaction, and copied in");
    expect(existsSync(`${bulk}-search-build`)).toBe(false); // the build's file, every message's text: gone
    // the bulk load builds its indexes at the end: the same ones
    const indexes = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name";
    expect(query(bulk, indexes)).toEqual(query(one_, indexes));
    // and gives the rows the ids the one-by-one writes give them
    for (const sql of [
      "SELECT * FROM turns ORDER BY id",
      "SELECT * FROM invocations ORDER BY id",
    ]) expect(query(bulk, sql)).toEqual(query(one_, sql));
    for (const sql of CONTENT) {
      expect(query(threads, sql)).toEqual(query(one_, sql));
      expect(query(bulk, sql)).toEqual(query(one_, sql));
    }
    expect(one(threads, "SELECT count(*) AS n FROM turns").n).toBeGreaterThan(100);
    expect(one(bulk, "SELECT count(*) AS n FROM invocations WHERE is_error = 1").n).toBeGreaterThan(0);
    // the copied search index is whole (FTS5 holds it to the messages) and finds what the one-by-one index finds, ranked alike
    const w = new Database(bulk);
    w.run("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)");
    w.close();
    const found = (db: string) => ["the", "file", '"tool use"', "test*", "error NOT warning", "NEAR(read file)"]
      .map((q) => query(db, "SELECT rowid, round(bm25(messages_fts), 9) AS rank FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid", q));
    const hits = found(bulk);
    expect(hits.filter((h) => h.length > 0).length).toBeGreaterThan(4);
    expect(hits).toEqual(found(one_));
    expect(query(bulk, "SELECT key FROM index_state WHERE key LIKE 'messages%'")).toEqual([]);
  });

  test("each message counts once with its final usage: keeping the first line undercounts up to 3.7x and more", () => {
    let worst = 1;
    for (const f of query(db, "SELECT id, path FROM agent_files WHERE agent = 'claude' AND path LIKE '%/projects/%'")) {
      const { first, last } = firstLineOutput(f.path);
      const ours = one(db, "SELECT coalesce(sum(output_tokens), 0) AS o FROM turns WHERE file_id = ?", f.id).o;
      expect(ours).toBe(last);
      if (first > 0) worst = Math.max(worst, last / first);
    }
    expect(worst).toBeGreaterThanOrEqual(3.7);
    // the hand-made dedup fixture: five lines, two messages
    const d = one(db, "SELECT count(*) AS n, sum(output_tokens) AS o FROM turns t JOIN agent_files f ON f.id = t.file_id WHERE f.path LIKE '%dedup_content_blocks.jsonl'");
    expect(d).toEqual({ n: 2, o: 350 });
  });

  test("1-hour cache writes are kept apart and cost 2x input", async () => {
    const t = one(db, "SELECT cache_write_1h_tokens AS h, cache_write_5m_tokens AS m FROM turns t JOIN agent_files f ON f.id = t.file_id WHERE f.path LIKE '%turn_with_1hr_cache.jsonl' ORDER BY seq LIMIT 1");
    expect(t).toEqual({ h: 100000, m: 0 });
    const prices = fresh("prices.json");
    writeFileSync(prices, JSON.stringify({ "claude-opus-4-6": { input: 10, output: 0, cacheWrite5m: 0, cacheWrite1h: 20, cacheRead: 0 } }));
    const r = JSON.parse((await sluice("report", "models", "--db", db, "--prices", prices, "--json")).stdout);
    const opus = r.models.find((m: any) => m.modelName === "claude-opus-4-6");
    const sums = one(db, "SELECT sum(input_tokens) AS i, sum(cache_write_1h_tokens) AS h FROM turns WHERE model = 'claude-opus-4-6'");
    expect(opus.totalCost).toBeCloseTo((sums.i * 10 + sums.h * 20) / 1e6, 9);
  });

  test("Codex: a repeated cumulative total is not a new call; input excludes the cached part", () => {
    const rows = query(db, "SELECT model, input_tokens AS i, cache_read_tokens AS c, output_tokens AS o, reasoning_tokens AS r FROM turns t JOIN agent_files f ON f.id = t.file_id WHERE f.path LIKE '%ccusage_fixture_session-alpha.jsonl' ORDER BY seq");
    expect(rows).toEqual([
      { model: "gpt-5.2-codex", i: 750, c: 250, o: 125, r: 75 },
      { model: "gpt-5.3-codex", i: 2000, c: 500, o: 300, r: 200 },
    ]);
    // a real rollout repeats token_count events; summing last_token_usage over all of them double-counts
    const f = query(db, "SELECT id, path FROM agent_files WHERE path LIKE '%rollout-2026-02-23T12-41-04%'")[0];
    let events = 0, lastSum = 0, finalTotal = 0;
    for (const l of readFileSync(f.path, "utf8").split("\n")) {
      if (!l.includes('"token_count"')) continue;
      const info = JSON.parse(l).payload.info;
      if (!info) continue;
      events++;
      lastSum += info.last_token_usage.output_tokens;
      finalTotal = info.total_token_usage.output_tokens;
    }
    const ours = one(db, "SELECT count(*) AS n, sum(output_tokens) AS o FROM turns WHERE file_id = ?", f.id);
    expect(ours.o).toBe(finalTotal);
    expect(ours.n).toBeLessThan(events);
    expect(lastSum).toBeGreaterThan(finalTotal);
  });

  test("reports: ccusage's field names, totals that add up, --tz and --since", async () => {
    const r = await sluice("report", "daily", "--db", db, "--tz", "UTC", "--json");
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    for (const row of d.daily) {
      expect(Object.keys(row)).toEqual(["date", "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens", "totalCost", "modelsUsed", "modelBreakdowns"]);
      expect(row.modelBreakdowns.reduce((a: number, m: any) => a + m.outputTokens, 0)).toBe(row.outputTokens);
    }
    const all = one(db, "SELECT sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cache_read_tokens) AS r, sum(cache_write_5m_tokens + cache_write_1h_tokens) AS w FROM turns");
    expect([d.totals.inputTokens, d.totals.outputTokens, d.totals.cacheReadTokens, d.totals.cacheCreationTokens]).toEqual([all.i, all.o, all.r, all.w]);
    expect(d.totals.totalCost).toBeGreaterThan(0);
    // the same turns, counted in another zone, land on other days but add up the same
    const tokyo = JSON.parse((await sluice("report", "daily", "--db", db, "--tz", "Asia/Tokyo", "--json")).stdout);
    expect(tokyo.totals.outputTokens).toBe(d.totals.outputTokens);
    expect(tokyo.daily.map((x: any) => x.date)).not.toEqual(d.daily.map((x: any) => x.date));
    const since = JSON.parse((await sluice("report", "daily", "--db", db, "--tz", "UTC", "--since", "2026-01-01", "--json")).stdout);
    expect(since.daily.every((x: any) => x.date >= "2026-01-01")).toBe(true);
    const monthly = JSON.parse((await sluice("report", "monthly", "--db", db, "--tz", "UTC", "--json")).stdout);
    expect(monthly.totals.totalTokens).toBe(d.totals.totalTokens);
    const sessions = JSON.parse((await sluice("report", "session", "--db", db, "--json")).stdout);
    expect(sessions.totals.totalTokens).toBe(d.totals.totalTokens);
    const text = await sluice("report", "daily", "--db", db);
    expect(text.stdout).toContain("Total");
    const bad = await sluice("report", "yearly", "--db", db);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("unknown report 'yearly'")]);
  });
});

describe("incremental", () => {
  test("grown files are read on, rewritten ones again, unchanged ones skipped; deleted sessions stay", async () => {
    const root = fresh("claude");
    const proj = join(root, "projects", "-work-demo");
    mkdirSync(proj, { recursive: true });
    const src = join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl");
    const bytes = readFileSync(src);
    const file = join(proj, "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl");
    // the first half, cut inside a line: that line waits for its newline
    const cut = Math.floor(bytes.length / 2);
    writeFileSync(file, bytes.subarray(0, cut));
    const db = fresh("inc.db"), whole = fresh("whole.db");
    const codex = emptyDir();
    let r = await index(db, root, codex);
    expect(r.new).toBe(1);
    appendFileSync(file, bytes.subarray(cut));
    r = await index(db, root, codex);
    expect([r.grown, r.rewritten]).toEqual([1, 0]);
    const wholeDir = fresh("claude-whole");
    mkdirSync(join(wholeDir, "projects", "-work-demo"), { recursive: true });
    copyFileSync(src, join(wholeDir, "projects", "-work-demo", "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl"));
    await index(whole, wholeDir, codex);
    const snap = (p: string) => ({
      turns: query(p, "SELECT message_id, request_id, model, at, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, seq FROM turns ORDER BY seq"),
      inv: query(p, "SELECT kind, name, tool_use_id, is_error FROM invocations ORDER BY byte_offset, tool_use_id"),
      s: query(p, "SELECT turns, user_messages, tool_calls, input_tokens, output_tokens, first_at, last_at, summary, first_prompt FROM sessions"),
      buckets: query(p, "SELECT * FROM usage_buckets ORDER BY bucket, model"),
      usage: query(p, "SELECT s.session_key, u.model, u.calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_5m_tokens, u.cache_write_1h_tokens, u.input_above, u.reasoning_tokens, u.first_at, u.last_at FROM session_usage u JOIN sessions s ON s.id = u.session_id ORDER BY 1, 2"),
      models: query(p, "SELECT id, first_seen, last_seen, calls FROM models ORDER BY id"),
    });
    // the buckets the reports read are the turns' sums, whatever path the index took to them
    const bucketsFromTurns = (p: string) =>
      query(p, `SELECT ${BUCKET_SQL("at")} AS bucket, coalesce(model, 'unknown') AS model, ${BUCKET_SUMS_SQL.replace(/sum\(/g, "total(")} FROM turns GROUP BY 1, 2 ORDER BY 1, 2`).map(Object.values);
    const bucketRows = (p: string) => query(p, "SELECT * FROM usage_buckets ORDER BY bucket, model").map(Object.values);
    expect(snap(db)).toEqual(snap(whole));

    // nothing changed: the run looks at its plan read-only and commits nothing, not even its claim
    // (another connection's data_version moves with every commit made by any other)
    const watcher = new Database(db, { readonly: true });
    const version = () => (watcher.query("PRAGMA data_version").get() as { data_version: number }).data_version;
    const before = version();
    r = await index(db, root, codex);
    expect([r.unchanged, r.lines]).toEqual([1, 0]);
    expect(version()).toBe(before);

    // rewritten (an editor, a rewrite of history): indexed again from byte 0, nothing twice
    writeFileSync(file, readFileSync(join(SAMPLES, "claude", "projects", "-experiments-ideas", "03eb5929-52b3-4b13-ada3-b93ae35806b8.jsonl")));
    r = await index(db, root, codex);
    expect(r.rewritten).toBe(1);
    expect(version()).not.toBe(before);
    watcher.close();
    expect(snap(db)).not.toEqual(snap(whole));
    expect(bucketRows(db)).toEqual(bucketsFromTurns(db));
    writeFileSync(file, bytes);
    r = await index(db, root, codex);
    expect(r.rewritten).toBe(1);
    expect(snap(db)).toEqual(snap(whole));
    expect(bucketRows(db)).toEqual(bucketsFromTurns(db));
    expect(bucketRows(db).length).toBeGreaterThan(0);

    // deleted by the agent's cleanup: the session stays in the archive
    rmSync(file);
    r = await index(db, root, codex);
    expect(one(db, "SELECT count(*) AS n FROM turns").n).toBe(snap(whole).turns.length);
  });

  test("CLAUDE_CONFIG_DIR and CODEX_HOME name the roots", async () => {
    const claude = fresh("cfg");
    cpSync(join(SAMPLES, "claude", "synthetic"), join(claude, "projects"), { recursive: true });
    const codexHome = fresh("codex-home");
    cpSync(join(SAMPLES, "codex", "claude-code-log_synthetic", "sessions"), join(codexHome, "sessions"), { recursive: true });
    const db = fresh("env.db");
    const r = await run(BIN, ["index", "--db", db, "--json"], { env: { CLAUDE_CONFIG_DIR: claude, CODEX_HOME: codexHome, HOME: fresh("home") } });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.roots).toEqual({ claude: [join(claude, "projects")], codex: [join(codexHome, "sessions")] });
    expect(one(db, "SELECT count(*) AS n FROM sessions WHERE agent = 'codex'").n).toBeGreaterThan(0);
    expect(one(db, "SELECT count(*) AS n FROM sessions WHERE agent = 'claude'").n).toBeGreaterThan(5);
  });
});

describe("sidechain and synthetic", () => {
  test("a main-chain copy beats a sidechain replay with a larger total; <synthetic> is skipped", async () => {
    const root = fresh("claude-side");
    const proj = join(root, "projects", "-p");
    mkdirSync(proj, { recursive: true });
    const line = (side: boolean, out: number, model = "claude-sonnet-4-5-20250929") =>
      JSON.stringify({ type: "assistant", sessionId: "s1", isSidechain: side, timestamp: "2026-03-01T10:00:00Z", requestId: "req_1", message: { id: "msg_1", model, usage: { input_tokens: 10, output_tokens: out }, content: [] } });
    writeFileSync(join(proj, "s1.jsonl"), [line(true, 900), line(false, 40), line(true, 1000), line(false, 0, "<synthetic>")].join("\n") + "\n");
    const db = fresh("side.db");
    await index(db, root, emptyDir());
    expect(query(db, "SELECT output_tokens, is_sidechain FROM turns")).toEqual([{ output_tokens: 40, is_sidechain: 0 }]);
  });

  test("across files, in bulk or file by file: the winning copy keeps a stop reason seen before, and a failed result stays failed", async () => {
    const root = fresh("claude-across");
    const proj = join(root, "projects", "-p");
    mkdirSync(proj, { recursive: true });
    const assistant = (side: boolean, out: number, stop: string | null, id = "1", tools = ["toolu_1"]) =>
      JSON.stringify({ type: "assistant", sessionId: "s1", isSidechain: side, timestamp: "2026-03-01T10:00:00Z", requestId: `req_${id}`,
        message: { id: `msg_${id}`, model: "claude-sonnet-4-5-20250929", stop_reason: stop, usage: { input_tokens: 10, output_tokens: out }, content: tools.map((t) => ({ type: "tool_use", id: t, name: "Bash", input: {} })) } });
    const result = (failed: boolean, toolUseId = "toolu_1") =>
      JSON.stringify({ type: "user", sessionId: "s1", timestamp: "2026-03-01T10:00:01Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: toolUseId, is_error: failed, content: "x" }] } });
    // Other calls after the first ones, so that the bulk load has staged those rows (it stages 64
    // at a time) when the second file settles them otherwise.
    const others = Array.from({ length: 100 }, (_, i) => assistant(false, 5, "end_turn", `other_${i}`, [`toolu_other_${i}`]));
    // a sidechain replay first, then the main-chain copy (it wins, with no stop reason of its own);
    // toolu_2's result comes only in the second file
    writeFileSync(join(proj, "a.jsonl"), [assistant(true, 900, "tool_use", "1", ["toolu_1", "toolu_2"]), result(true), ...others].join("\n") + "\n");
    writeFileSync(join(proj, "b.jsonl"), [assistant(false, 40, null), result(false), result(true, "toolu_2")].join("\n") + "\n");
    const bulk = fresh("across-bulk.db"), byFile = fresh("across-by-file.db");
    await index(bulk, root, emptyDir(), "--bulk");
    await index(byFile, root, emptyDir(), "--no-bulk");
    for (const db of [bulk, byFile]) {
      expect(query(db, "SELECT output_tokens, is_sidechain, stop_reason FROM turns WHERE message_id = 'msg_1'")).toEqual([{ output_tokens: 40, is_sidechain: 0, stop_reason: "tool_use" }]);
      expect(query(db, "SELECT tool_use_id, is_error, turn_id IS NOT NULL AS linked FROM invocations WHERE tool_use_id IN ('toolu_1', 'toolu_2') ORDER BY 1")).toEqual([
        { tool_use_id: "toolu_1", is_error: 1, linked: 1 },
        { tool_use_id: "toolu_2", is_error: 1, linked: 1 },
      ]);
      expect(one(db, "SELECT count(*) AS n FROM turns").n).toBe(101);
    }
    expect(query(bulk, "SELECT * FROM turns")).toEqual(query(byFile, "SELECT * FROM turns"));
    expect(query(bulk, "SELECT * FROM invocations")).toEqual(query(byFile, "SELECT * FROM invocations"));
    expect(query(bulk, "SELECT * FROM sessions")).toEqual(query(byFile, "SELECT * FROM sessions"));
  });
});

describe("flows from sse_lines", () => {
  /** The sample API streams wrapped in capture envelopes, one flow each, a line every 37 ms. */
  function envelopes(names: string[], firstRound: number): { text: string; expected: Array<{ flow: string; start: number; firstDelta: number; end: number }> } {
    const lines: string[] = [];
    const expected = [];
    let round = firstRound;
    for (const name of names) {
      let event = "", ms = 0, firstDelta = -1;
      const base = Date.parse("2026-01-24T10:15:02.000Z") + round * 10_000;
      for (const line of readFileSync(join(SAMPLES, "sse", name), "utf8").split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        ms += 37;
        if (firstDelta < 0 && (event === "content_block_delta" || event === "response.output_item.done")) firstDelta = ms;
        lines.push(JSON.stringify({ t: new Date(base + ms).toISOString(), source: name.startsWith("openai") ? "codex" : "claude", sid: "s1", flow_id: `fl_${round}`, round, event, metadata: JSON.stringify({ pid: 1, cwd: "/p", turn_id: `turn_${round}` }), line }));
      }
      expected.push({ flow: `fl_${round}`, start: 37, firstDelta, end: ms });
      round++;
    }
    return { text: lines.join("\n") + "\n", expected };
  }

  test("one row per model call with model, usage, stop reason and latency; built incrementally", async () => {
    const file = fresh("sse_lines.jsonl"), db = fresh("flows.db");
    const first = envelopes(["anthropic/basic_response.sse", "anthropic/tool_use_response.sse", "openai/codex_cli_responses_fixture.sse"], 0);
    writeFileSync(file, first.text);
    expect((await sluice("ingest", file, "--db", db)).code).toBe(0);
    const r = await index(db, emptyDir(), emptyDir());
    expect(r.flowsRebuilt).toBe(3);
    const flows = query(db, "SELECT * FROM flows ORDER BY round");
    expect(flows.map((f) => [f.flow_id, f.model, f.stop_reason])).toEqual([
      ["fl_0", "claude-3-opus-latest", "end_turn"],
      ["fl_1", "claude-sonnet-4-20250514", "tool_use"],
      ["fl_2", null, "completed"],
    ]);
    for (const [i, e] of first.expected.entries()) {
      expect(flows[i].ttft_ms).toBeCloseTo(e.firstDelta - e.start, 0);
      expect(flows[i].duration_ms).toBeCloseTo(e.end - e.start, 0);
    }
    expect([flows[0].input_tokens, flows[0].output_tokens]).toEqual([11, 6]);
    expect(flows[0].output_tokens_per_s).toBeCloseTo(6 / ((first.expected[0]!.end - first.expected[0]!.firstDelta) / 1000), 3);
    expect(flows[1].message_id).toBe("msg_019Q1hrJbZG26Fb9BQhrkHEr");

    // a second run with nothing new builds nothing; new lines rebuild only their flows
    expect((await index(db, emptyDir(), emptyDir())).flowsRebuilt).toBe(0);
    const more = envelopes(["anthropic/server_tool_use_response.sse"], 3);
    appendFileSync(file, more.text);
    expect((await sluice("ingest", file, "--db", db)).code).toBe(0);
    expect((await index(db, emptyDir(), emptyDir())).flowsRebuilt).toBe(1);
    expect(one(db, "SELECT count(*) AS n FROM flows").n).toBe(4);
    expect(one(db, "SELECT stop_reason FROM flows WHERE flow_id = 'fl_3'").stop_reason).toBe("end_turn");
  });

  test("a capture started over (ingest --from-scratch) has its flows built again from its new rows", async () => {
    const file = fresh("sse_lines.jsonl"), other = fresh("sse_lines.jsonl"), db = fresh("flows.db");
    writeFileSync(file, envelopes(["anthropic/basic_response.sse", "anthropic/tool_use_response.sse", "openai/codex_cli_responses_fixture.sse"], 0).text);
    expect((await sluice("ingest", file, "--db", db)).code).toBe(0);
    expect((await index(db, emptyDir(), emptyDir())).flowsRebuilt).toBe(3);
    // fewer rows than before, so the new row ids all lie below the old high-water mark
    writeFileSync(other, envelopes(["anthropic/server_tool_use_response.sse"], 7).text);
    expect((await sluice("ingest", other, "--db", db, "--from-scratch")).code).toBe(0);
    await index(db, emptyDir(), emptyDir());
    const fromScratch = fresh("flows.db");
    expect((await sluice("ingest", other, "--db", fromScratch)).code).toBe(0);
    await index(fromScratch, emptyDir(), emptyDir());
    expect(query(db, "SELECT * FROM flows ORDER BY flow_id")).toEqual(query(fromScratch, "SELECT * FROM flows ORDER BY flow_id"));
    expect(one(db, "SELECT count(*) AS n FROM flows").n).toBe(1);
  });
});

describe("index --follow", () => {
  test("hands over with the same PID, then has appended lines in the tables within a second; SIGTERM exits 0", async () => {
    const root = fresh("claude-follow");
    const proj = join(root, "projects", "-p");
    mkdirSync(proj, { recursive: true });
    const src = readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"));
    const cut = src.indexOf(10, Math.floor(src.length / 2)) + 1;
    const file = join(proj, "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl");
    writeFileSync(file, src.subarray(0, cut));
    const db = fresh("follow.db");
    const p = Bun.spawn([...BIN, "index", "--follow", "--claude", root, "--codex", emptyDir(), "--db", db, "--poll-ms", "5000"], { stdout: "ignore", stderr: "pipe" });
    try {
      const deadline = performance.now() + 15_000;
      const turns = () => {
        try {
          return one(db, "SELECT count(*) AS n FROM turns").n as number;
        } catch {
          return -1;
        }
      };
      while (turns() <= 0 && performance.now() < deadline) await Bun.sleep(50);
      const before = turns();
      expect(before).toBeGreaterThan(0);
      // the live image: same PID, started with --handover
      await Bun.sleep(300);
      expect(readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0")).toContain("--handover");
      appendFileSync(file, src.subarray(cut));
      const t0 = performance.now();
      while (turns() === before && performance.now() - t0 < 5000) await Bun.sleep(20);
      expect(performance.now() - t0).toBeLessThan(1000); // the poll is 5 s: the watch woke it
      expect(turns()).toBeGreaterThan(before);
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill("SIGKILL");
    }
  }, 30_000);
});


describe("a first index's bulk load", () => {
  test("writes through a rollback journal when it has the database to itself, through WAL beside another connection", () => {
    const path = fresh("journal.db");
    const db = new Database(path, { create: true });
    try {
      useIndexSettings(db);
      db.run("CREATE TABLE t (x)");
      const modeInside = () => withRollbackJournal(db, () => {
        db.run("INSERT INTO t VALUES (1)");
        return (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
      });
      expect(modeInside()).toBe("delete");
      expect(one(path, "PRAGMA journal_mode").journal_mode).toBe("wal");
      expect(existsSync(`${path}-journal`)).toBe(false);
      const reader = new Database(path, { readonly: true });
      try {
        reader.query("SELECT count(*) FROM t").get();
        expect(modeInside()).toBe("wal");
      } finally {
        reader.close();
      }
      expect(one(path, "SELECT count(*) AS n FROM t").n).toBe(2);
    } finally {
      db.close();
    }
  });

  test("killed with -9 during its write, it leaves nothing half written, and the next run makes the same index", async () => {
    const root = fresh("corpus");
    buildAgentCorpus(root, 40e6, 40);
    const roots = [join(root, "claude"), join(root, "codex")] as const;
    const reference = fresh("reference.db");
    const { writeMs } = await index(reference, ...roots, "--bulk");
    const expected = CONTENT.map((sql) => query(reference, sql));
    expect(one(reference, "SELECT count(*) AS n FROM turns").n).toBeGreaterThan(1000);
    let hot = 0;
    for (const share of [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1]) {
      const db = fresh(`killed-${share}.db`);
      const p = Bun.spawn([...BIN, "index", "--claude", roots[0], "--codex", roots[1], "--db", db, "--bulk"], { stdout: "ignore", stderr: "ignore" });
      // The files' plans commit in WAL; the bulk write leaves WAL, and its rollback journal exists
      // from the write's first change until its commit. (A journal before the WAL is the schema's.)
      while (!existsSync(`${db}-wal`) && p.exitCode === null) await Bun.sleep(1);
      while (!existsSync(`${db}-journal`) && p.exitCode === null) await Bun.sleep(1);
      await Bun.sleep(share * writeMs);
      p.kill("SIGKILL");
      await p.exited;
      if (existsSync(`${db}-journal`) && statSync(`${db}-journal`).size > 0) hot++;
      // The next opener rolls a hot journal back. The run is then all there or not at all.
      const opener = new Database(db);
      opener.query("SELECT count(*) FROM sqlite_schema").get();
      opener.close();
      if (one(db, "SELECT count(*) AS n FROM turns").n > 0) expect(CONTENT.map((sql) => query(db, sql))).toEqual(expected);
      else expect(one(db, "SELECT count(*) AS n FROM invocations").n).toBe(0);
      await index(db, ...roots);
      expect(CONTENT.map((sql) => query(db, sql))).toEqual(expected);
      expect(one(db, "PRAGMA integrity_check").integrity_check).toBe("ok");
      expect(one(db, "PRAGMA journal_mode").journal_mode).toBe("wal");
      expect(modeOf(db)).toBe(0o600);
    }
    expect(hot).toBeGreaterThan(0);
  }, 120_000);
});

describe("the bulk image (deep-index/bulk-image.ts)", () => {
  const BULK_LINE = "a first index's bulk load: it starts in a new image of this process";
  const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");

  test("a first index replaces itself once, with the allocator's purging off, and makes the same index as without", async () => {
    const roots = [`${SAMPLES}/claude/projects`, `${SAMPLES}/codex`] as const;
    const replaced = fresh("bulk-image.db"), here = fresh("bulk-here.db");
    const a = await run(BIN, ["index", "--claude", roots[0], "--codex", roots[1], "--db", replaced, "--bulk", "--json"], { env: { SLUICE_LOG_LEVEL: "4" } });
    expect(a.code).toBe(0);
    expect(a.stderr.split(BULK_LINE).length - 1).toBe(1);
    // the user's own setting is left alone: no new image
    const b = await run(BIN, ["index", "--claude", roots[0], "--codex", roots[1], "--db", here, "--bulk", "--json"], { env: { SLUICE_LOG_LEVEL: "4", MIMALLOC_PURGE_DELAY: "10" } });
    expect(b.code).toBe(0);
    expect(b.stderr).not.toContain(BULK_LINE);
    expect(JSON.parse(a.stdout).turns).toBe(JSON.parse(b.stdout).turns);
    expect(CONTENT.map((sql) => query(replaced, sql))).toEqual(CONTENT.map((sql) => query(here, sql)));
    // a run with nothing to load in bulk stays in its process
    const c = await run(BIN, ["index", "--claude", roots[0], "--codex", roots[1], "--db", replaced], { env: { SLUICE_LOG_LEVEL: "4" } });
    expect(c.code).toBe(0);
    expect(c.stderr).not.toContain(BULK_LINE);
  }, 60_000);

  test("index --follow: the first index in the bulk image, the live follower (same PID) with the caller's environment again", async () => {
    const root = fresh("bulk-follow");
    buildAgentCorpus(root, 70e6, 30); // past the 64 MB from which a first index loads in bulk
    const db = fresh("bulk-follow.db");
    const p = start(BIN, ["index", "--follow", "--claude", join(root, "claude"), "--codex", join(root, "codex"), "--db", db, "--poll-ms", "5000"], { env: { SLUICE_LOG_LEVEL: "4" } });
    try {
      let bulkEnv = false, handedOver = false;
      const deadline = performance.now() + 60_000;
      while (!handedOver && p.proc.exitCode === null && performance.now() < deadline) {
        try {
          handedOver = readFileSync(`/proc/${p.proc.pid}/cmdline`, "utf8").split("\0").includes("--handover");
          if (!handedOver && environ(p.proc.pid).includes("MIMALLOC_PURGE_DELAY=-1")) bulkEnv = true;
        } catch {}
        await Bun.sleep(5);
      }
      expect(handedOver).toBe(true);
      expect(bulkEnv).toBe(true);
      const live = environ(p.proc.pid);
      expect(live.filter((v) => v.startsWith("MIMALLOC_PURGE_DELAY=") || v.startsWith("SLUICE_BULK_IMAGE="))).toEqual([]);
      expect(live).toContain("BUN_JSC_useJIT=0");
      expect(p.stderr().split(BULK_LINE).length - 1).toBe(1);
      expect(one(db, "SELECT count(*) AS n FROM agent_files").n).toBe(30);
      await Bun.sleep(500); // the live image's signal handlers, as in the test above
      p.proc.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.proc.kill("SIGKILL");
    }
  }, 90_000);

  test("index --follow stopped by SIGTERM at any moment of its start, the exec to the bulk image among them, ends", async () => {
    const root = fresh("bulk-stop");
    buildAgentCorpus(root, 70e6, 30);
    const ends: string[] = [];
    for (const ms of [0, 15, 30, 45, 60, 80, 100, 125, 150, 200, 300, 500]) {
      const db = fresh(`bulk-stop-${ms}.db`);
      const p = start(BIN, ["index", "--follow", "--claude", join(root, "claude"), "--codex", join(root, "codex"), "--db", db, "--poll-ms", "5000"]);
      try {
        await Bun.sleep(ms);
        p.proc.kill("SIGTERM");
        const code = await Promise.race([p.exited, Bun.sleep(20_000).then(() => null)]);
        // stopped: by the signal itself (before its handlers, or interrupted mid-index), or 0 (while following)
        ends.push(`${ms} ms: ${code === null ? `still running 20 s later: ${p.stderr().trim().split("\n").slice(-2).join(" | ")}` : p.proc.signalCode ?? code}`);
      } finally {
        p.proc.kill("SIGKILL");
      }
    }
    expect(ends.filter((e) => !/: (SIGTERM|143|0)$/.test(e))).toEqual([]);
  }, 300_000);
});

describe("the benchmark corpus (bench/agent-corpus.ts)", () => {
  test("gives each copy of a sample its own ids and keeps every key", () => {
    const keys = (v: unknown, out: string[] = []): string[] => {
      if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(Array.isArray(v) ? "[]" : k, ...keys(x));
      return out;
    };
    const file = join(SAMPLES, "codex", "localpush-2026-02-23", "raw", "sessions", "rollout-2026-02-23T12-40-23-019c8a4c-ed82-79a1-aa28-7738fc5ab61a.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    const copy = variant(lines, 3, 4).trimEnd().split("\n");
    expect(copy).toHaveLength(lines.length);
    for (let i = 0; i < lines.length; i++) expect(keys(JSON.parse(copy[i]!))).toEqual(keys(JSON.parse(lines[i]!)));
    const callIds = (ls: string[]) => ls.map((l) => JSON.parse(l).payload?.call_id).filter(Boolean);
    expect(callIds(lines).length).toBeGreaterThan(50);
    expect(callIds(copy)).toEqual(callIds(lines).map((id) => `${id}-3-4`));
  });
});
