// `bun run demo`: what sluice gives a new user, shown as they would see it. It generates a
// synthetic sse_lines.jsonl capture and ingests it with the compiled binary, indexes sample Claude
// Code and Codex transcripts, prints the daily and models reports, runs a few example queries and
// says where it left its files. Everything goes to .demo/ in the repository; run it again and the
// ingest goes on from where it stopped (nothing is generated twice).
//
//   bun run demo                                  (builds dist/sluice first)
//   SLUICE_DEMO_SAMPLES=DIR bun scripts/demo.ts   transcripts from DIR/claude and DIR/codex; a
//                                                 missing DIR means a small synthetic set

import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { generateFile } from "../bench/generate";

const root = resolve(import.meta.dir, "..");
const DEMO = ".demo"; // paths are relative to the repository root, where every command runs
const DB = `${DEMO}/sluice.db`;
const CAPTURE = `${DEMO}/sse_lines.jsonl`;
const samples = process.env.SLUICE_DEMO_SAMPLES || resolve(root, "..", "shared", "samples");

function fail(msg: string): never {
  console.error(`demo: ${msg}`);
  process.exit(1);
}

const heading = (s: string) => console.log(`\n== ${s}\n`);

/** Runs dist/sluice with its output on this terminal; a failure ends the demo. */
function sluice(...args: string[]) {
  console.log(`$ dist/sluice ${args.join(" ")}`);
  const p = Bun.spawnSync([join(root, "dist", "sluice"), ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) fail(`'sluice ${args[0]}${args[1]?.startsWith("-") ? "" : ` ${args[1]}`}' failed (exit ${p.exitCode ?? p.signalCode})`);
}

/** Writes a transcript once: rewriting it on a second run would show as a change to the indexer. */
function writeLines(path: string, lines: object[]) {
  if (existsSync(join(root, path))) return;
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
}

/** A Claude Code transcript: per prompt, three assistant calls (two tool uses, then an answer). */
function claudeSession(sid: string, start: string, model: string, prompts: string[]) {
  const base = { isSidechain: false, userType: "external", cwd: "/home/you/project", sessionId: sid, version: "2.0.28", gitBranch: "main" };
  let t = Date.parse(start), n = 0;
  const at = (s: number) => new Date((t += s * 1000)).toISOString();
  const out: object[] = [];
  for (const prompt of prompts) {
    out.push({ ...base, type: "user", message: { role: "user", content: prompt }, timestamp: at(60) });
    for (let i = 0; i < 3; i++, n++) {
      const tool = i < 2 ? { type: "tool_use", id: `toolu_${sid.slice(0, 8)}_${n}`, name: i ? "Edit" : "Read", input: { file_path: "/home/you/project/src/app.ts" } } : null;
      const usage = { input_tokens: 3 + i, cache_creation_input_tokens: 900 + 400 * i, cache_read_input_tokens: 14_000 + 2_500 * n, output_tokens: 120 + 160 * i + 7 * n, service_tier: "standard" };
      out.push({
        ...base, type: "assistant", requestId: `req_${sid.slice(0, 8)}${n}`, timestamp: at(8 + 3 * i),
        message: { id: `msg_${sid.slice(0, 8)}${n}`, type: "message", role: "assistant", model, content: [tool ?? { type: "text", text: "Done: the change is in src/app.ts." }], stop_reason: tool ? "tool_use" : "end_turn", usage },
      });
      if (tool) out.push({ ...base, type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: tool.id, content: "ok" }] }, timestamp: at(1) });
    }
  }
  return out;
}

/** A Codex rollout: session_meta, turn_context, then per prompt two shell calls with cumulative token counts. */
function codexSession(id: string, start: string, model: string, prompts: string[]) {
  let t = Date.parse(start), n = 0;
  const at = (s: number) => new Date((t += s * 1000)).toISOString();
  const total = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 };
  const cwd = "/home/you/project";
  const out: object[] = [
    { timestamp: at(0), type: "session_meta", payload: { id, timestamp: start, cwd, originator: "codex_cli_rs", cli_version: "0.63.0", source: "cli", model_provider: "openai" } },
    { timestamp: at(1), type: "turn_context", payload: { cwd, model, approval_policy: "on-request", sandbox_policy: { type: "workspace-write" } } },
  ];
  for (const prompt of prompts) {
    out.push({ timestamp: at(30), type: "event_msg", payload: { type: "user_message", message: prompt } });
    for (let i = 0; i < 2; i++, n++) {
      const call_id = `call_${id.slice(0, 8)}_${n}`;
      out.push({ timestamp: at(6), type: "response_item", payload: { type: "function_call", name: "shell", arguments: JSON.stringify({ command: ["bun", "test"] }), call_id } });
      out.push({ timestamp: at(4), type: "response_item", payload: { type: "function_call_output", call_id, output: JSON.stringify({ output: "ok", metadata: { exit_code: i } }) } });
      const last = { input_tokens: 9_000 + 1_500 * n, cached_input_tokens: 6_000 + 1_200 * n, output_tokens: 300 + 40 * n, reasoning_output_tokens: 120 + 10 * n, total_tokens: 0 };
      last.total_tokens = last.input_tokens + last.output_tokens;
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += last[k];
      out.push({ timestamp: at(1), type: "event_msg", payload: { type: "token_count", info: { total_token_usage: { ...total }, last_token_usage: last, model_context_window: 272_000 } } });
    }
  }
  return out;
}

/** Three sessions over three days with two models, for a clone without ../shared/samples. */
function writeSynthetic(): { claude: string; codex: string } {
  const claude = `${DEMO}/claude`, codex = `${DEMO}/codex`;
  const s1 = "5f0c2a9e-1b7d-4c3a-9e21-7a4b8c9d0e11", s2 = "a3e1d7c4-62f0-4b9a-8d15-0c2e4f6a8b22", s3 = "019ad3f2-7c41-7e20-b5a9-3d8e6f1c2a33";
  writeLines(`${claude}/projects/-home-you-project/${s1}.jsonl`, claudeSession(s1, "2026-11-28T09:12:00Z", "claude-sonnet-4-5-20250929", ["Add a --verbose flag to the CLI", "Now write a test for it"]));
  writeLines(`${claude}/projects/-home-you-project/${s2}.jsonl`, claudeSession(s2, "2026-11-29T14:03:00Z", "claude-sonnet-4-5-20250929", ["Why does the build fail on macOS?", "Fix it", "Update the README"]));
  writeLines(`${codex}/sessions/2026/11/30/rollout-2026-11-30T10-20-00-${s3}.jsonl`, codexSession(s3, "2026-11-30T10:20:00Z", "gpt-5-codex", ["Run the tests and fix what fails", "Make the error message clearer"]));
  return { claude, codex };
}

/** Prints rows as an aligned table: numbers right-aligned with thousands separators. */
function printTable(rows: Record<string, unknown>[]) {
  if (!rows.length) return console.log("(no rows)");
  const head = Object.keys(rows[0]!);
  const right = head.map((h) => rows.some((r) => typeof r[h] === "number"));
  // a column with any fraction shows one decimal on every row, so the points line up
  const digits = head.map((h) => (rows.some((r) => typeof r[h] === "number" && !Number.isInteger(r[h])) ? 1 : 0));
  const cell = (v: unknown, i: number) =>
    v === null || v === undefined ? "" : typeof v === "number" ? v.toLocaleString("en-US", { minimumFractionDigits: digits[i], maximumFractionDigits: digits[i] }) : String(v);
  const body = rows.map((r) => head.map((h, i) => cell(r[h], i)));
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ").trimEnd();
  console.log([line(head), w.map((x) => "-".repeat(x)).join("  "), ...body.map(line)].join("\n"));
}

function queries() {
  const db = new Database(join(root, DB), { readonly: true });
  let first = true;
  const show = (title: string, sql: string) => {
    console.log(`${first ? "" : "\n"}-- ${title}\n${sql};\n`);
    printTable(db.query(sql).all() as Record<string, unknown>[]);
    first = false;
  };
  try {
    show("lines per agent in the capture", "SELECT source, count(*) AS lines, count(DISTINCT sid) AS sessions\nFROM sse_lines GROUP BY source");
    if (db.query("SELECT 1 FROM flows LIMIT 1").get()) {
      show("the slowest model calls (from the capture's streams)", "SELECT model, round(ttft_ms) AS ttft_ms, round(duration_ms) AS duration_ms,\n       round(output_tokens_per_s, 1) AS tok_per_s, output_tokens\nFROM flows ORDER BY duration_ms DESC LIMIT 5");
    }
    show("tokens per session (from the transcripts)", "SELECT agent, substr(agent_session_id, 1, 8) AS session, date(first_at) AS day, primary_model AS model,\n       turns, tool_calls, input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens AS input, output_tokens AS output\nFROM sessions ORDER BY input + output DESC LIMIT 8");
  } finally {
    db.close();
  }
}

function sizeOf(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, f) => sum + sizeOf(join(path, f)), 0);
}

function main() {
  if (!existsSync(join(root, "dist", "sluice"))) fail("dist/sluice is missing: build it with `bun run build.ts` (`bun run demo` does)");
  mkdirSync(join(root, DEMO), { recursive: true });

  heading("1/4 ingest a capture: 300,000 sse_lines, the proxy's log of model streams");
  if (existsSync(join(root, CAPTURE))) console.log(`${CAPTURE} is there already: not generated again`);
  else {
    const bytes = generateFile(join(root, CAPTURE), { lines: 300_000, seed: 1 });
    console.log(`generated ${CAPTURE} (${(bytes / 1e6).toFixed(0)} MB, 300,000 lines)`);
  }
  sluice("ingest", CAPTURE, "--db", DB);

  heading("2/4 index agent transcripts: Claude Code and Codex sessions, with the capture's model calls");
  let dirs = { claude: join(samples, "claude"), codex: join(samples, "codex") };
  if (existsSync(samples)) console.log(`transcripts: the samples in ${samples}`);
  else {
    dirs = writeSynthetic();
    console.log(`no samples at ${samples}: three synthetic sessions in ${dirs.claude} and ${dirs.codex} instead`);
  }
  sluice("index", "--claude", dirs.claude, "--codex", dirs.codex, "--db", DB);

  heading("3/4 reports: tokens and cost by day and by model");
  sluice("report", "daily", "--db", DB);
  console.log();
  sluice("report", "models", "--db", DB);

  heading("4/4 query it yourself: it is one SQLite database");
  queries();

  heading("done");
  console.log(`The demo's files are in ${DEMO}/ (${(sizeOf(join(root, DEMO)) / 1e6).toFixed(0)} MB): the capture and ${DB}.`);
  console.log(`Look further:  sqlite3 ${DB}`);
  console.log(`               dist/sluice report session --db ${DB}`);
  console.log(`Remove it:     rm -rf ${DEMO}`);
}

try {
  main();
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
