// The archive (docs/archive.md): every byte of every indexed agent log kept in the database, so
// that `sluice export` writes the files back byte for byte (sha256) after the agent deleted them,
// after they grew, across a rewrite (both generations), through kill -9, and after --no-archive.

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buildAgentCorpus } from "../bench/agent-corpus";
import { modeOf, one, query, RUNNERS, run, scratch, SHARED } from "./helpers";

setDefaultTimeout(120_000); // each test runs the binary tens of times, on a machine that may be busy
const { tmp, fresh, emptyDir } = scratch("sluice-archive-");
afterAll(() => tmp.cleanup());
const SAMPLES = join(SHARED, "samples");
const BIN = RUNNERS[1]!.cmd;
const sluice = (...args: string[]) => run(BIN, args);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** Every .jsonl under `dir`, by its path relative to `dir`, with its sha256. */
function hashes(dir: string, only = (p: string) => p.endsWith(".jsonl")): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of walk(dir)) if (only(p)) m.set(relative(dir, p), sha(readFileSync(p)));
  return m;
}

/** A root with Claude Code's and Codex's layout, from the samples: `claude/...`, `codex/...`. */
function sampleTree(): { root: string; claude: string; codex: string } {
  const root = fresh("tree");
  cpSync(join(SAMPLES, "claude"), join(root, "claude"), { recursive: true });
  cpSync(join(SAMPLES, "codex"), join(root, "codex"), { recursive: true });
  return { root, claude: `${root}/claude/projects,${root}/claude/synthetic`, codex: `${root}/codex` };
}

async function index(db: string, claude: string, codex: string, ...more: string[]) {
  const r = await sluice("index", "--claude", claude, "--codex", codex, "--db", db, "--json", ...more);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function exportAll(db: string): Promise<{ dir: string; out: any }> {
  const dir = fresh("export");
  const r = await sluice("export", "--all", "--to", dir, "--db", db, "--json");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return { dir, out: JSON.parse(r.stdout) };
}

describe("export", () => {
  test("every sample file: indexed, deleted, exported byte for byte (sha256), mode 0600", async () => {
    const t = sampleTree(), db = fresh("samples.db");
    const want = hashes(t.root);
    expect(want.size).toBeGreaterThan(30);
    await index(db, t.claude, t.codex);
    rmSync(t.root, { recursive: true });
    const { dir, out } = await exportAll(db);
    // the export keeps the layout below the deepest common directory: here the tree's root
    const got = hashes(dir, () => true);
    expect(got).toEqual(want);
    expect(out.files.length).toBe(want.size);
    for (const f of out.files) {
      expect(modeOf(f.path)).toBe(0o600);
      expect(f.sha256).toBe(want.get(relative(dir, f.path)));
    }
    // a session alone, by a prefix of its id, with its subagents beside it
    const one_ = fresh("one");
    const r = await sluice("export", "0d3a8e6f", "--to", one_, "--db", db);
    expect(r.code).toBe(0);
    expect(hashes(one_)).toEqual(new Map([["0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl", want.get("claude/projects/-Users-dain-workspace-claude-code-log-sample/0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl")!]]));
    const bad = await sluice("export", "no-such-session", "--to", one_, "--db", db);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a file indexed in three growth steps, each cut mid-line: each export equals the file as it was, and only new bytes are stored", async () => {
    const root = fresh("grow"), db = fresh("grow.db");
    const dir = join(root, "projects", "-p");
    mkdirSync(dir, { recursive: true });
    const whole = readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl"));
    const file = join(dir, "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl");
    // the first piece is small: the next run packs it again with the new bytes
    const cuts = [10_007, Math.floor((2 * whole.length) / 3) + 3, whole.length];
    let at = 0;
    for (const cut of cuts) {
      appendFileSync(file, whole.subarray(at, cut));
      at = cut;
      await index(db, join(root, "projects"), emptyDir());
      const out = fresh("grown");
      expect((await sluice("export", "0d3a8e6f", "--to", out, "--db", db)).code).toBe(0);
      expect(sha(readFileSync(join(out, "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl")))).toBe(sha(whole.subarray(0, cut)));
    }
    const g = one(db, "SELECT count(*) AS generations, max(archived_to) AS archived_to FROM archive_generations");
    expect(g).toEqual({ generations: 1, archived_to: whole.length });
    // the pieces cover the file once, end to end
    const chunks = one(db, "SELECT sum(length) AS bytes, min(start) AS first, count(*) AS pieces FROM archive_chunks");
    expect(chunks).toEqual({ bytes: whole.length, first: 0, pieces: 2 });
    // the messages, read a piece at a time, are those of the whole file read at once
    const once = fresh("once.db");
    await index(once, join(root, "projects"), emptyDir());
    const messages = (d: string) => query(d, "SELECT byte_offset, part, kind, role, at, model, tool, text, length FROM messages ORDER BY byte_offset, part");
    expect(messages(db).length).toBeGreaterThan(20);
    expect(messages(db)).toEqual(messages(once));
    rmSync(file);
    const { dir: outDir } = await exportAll(db);
    expect(hashes(outDir)).toEqual(new Map([["0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl", sha(whole)]]));
  });

  test("a rewritten file keeps its earlier content as an earlier generation, exported beside the latest", async () => {
    const root = fresh("rewrite"), db = fresh("rewrite.db");
    const dir = join(root, "projects", "-p");
    mkdirSync(dir, { recursive: true });
    const src = join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample");
    const first = readFileSync(join(src, "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl"));
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, first);
    await index(db, join(root, "projects"), emptyDir());
    // rewritten in place, shorter, with other content: read again from byte 0
    const second = Buffer.concat([first.subarray(0, first.indexOf(10) + 1), Buffer.from('{"type":"user","edited":true}\n')]);
    writeFileSync(file, second);
    const r = await index(db, join(root, "projects"), emptyDir());
    expect(r.rewritten).toBe(1);
    rmSync(root, { recursive: true });
    const { dir: outDir, out } = await exportAll(db);
    expect(hashes(outDir)).toEqual(new Map([["s1.jsonl", sha(second)], ["s1.generation-1.jsonl", sha(first)]]));
    expect(out.files.map((f: any) => [f.generation, f.latest])).toEqual([[1, false], [2, true]]);
  });

  test("--no-archive keeps counts only; switched on later it archives what is still on disk and names the sessions whose files are gone", async () => {
    const t = sampleTree(), db = fresh("later.db");
    const want = hashes(t.root);
    const r0 = await index(db, t.claude, t.codex, "--no-archive");
    expect(r0.files).toBe(want.size);
    expect(one(db, "SELECT count(*) AS n FROM archive_chunks").n).toBe(0);
    const gone = join(t.root, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl");
    rmSync(gone);
    want.delete(relative(t.root, gone));
    const r1 = await index(db, t.claude, t.codex);
    // what is on disk has its messages, as if archived from the start
    const once = fresh("once.db");
    await index(once, t.claude, t.codex);
    const messages = (d: string) => query(d, "SELECT f.path, m.byte_offset, m.part, m.kind, m.text FROM messages m JOIN agent_files f ON f.id = m.file_id ORDER BY 1, 2, 3");
    expect(messages(db)).toEqual(messages(once));
    expect(r1.unarchived).toEqual(["claude:0d3a8e6f-290f-4105-a327-a2496e5e2a83"]);
    const text = await sluice("index", "--claude", t.claude, "--codex", t.codex, "--db", db);
    expect(text.stdout).toContain("1 session has no content left to archive");
    rmSync(t.root, { recursive: true });
    const res = await sluice("export", "--all", "--to", fresh("later-out"), "--db", db, "--json");
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.missing).toEqual([{ session: "claude:0d3a8e6f-290f-4105-a327-a2496e5e2a83", source: gone }]);
    const got = new Map<string, string>(out.files.map((f: any) => [relative(t.root, f.source), f.sha256]));
    expect(got).toEqual(want);
  });
});

describe("kill -9", () => {
  for (const mode of ["bulk", "file by file", "bulk, then file by file"] as const) {
    test(`during an archiving index (${mode}), then the same index again: every export is byte-exact`, async () => {
      const root = fresh("corpus"), db = fresh("killed.db");
      buildAgentCorpus(root, 90e6, 40);
      const want = hashes(root);
      const claude = join(root, "claude"), codex = join(root, "codex");
      const args = ["index", "--claude", claude, "--codex", codex, "--db", db, ...(mode === "file by file" ? ["--no-bulk"] : [])];
      // kills spread over a whole run: timed first on a database of its own
      const t0 = performance.now();
      const timedDb = fresh("timed.db");
      expect((await run(BIN, ["index", "--claude", claude, "--codex", codex, "--db", timedDb])).code).toBe(0);
      const whole = performance.now() - t0;
      let killed = 0;
      if (mode === "bulk, then file by file") {
        // killed once the bulk load has committed messages whose search index it builds only at its end
        const p = Bun.spawn([...BIN, ...args], { stdout: "ignore", stderr: "ignore" });
        const pending = () => existsSync(db) && query(db, "SELECT 1 FROM sqlite_schema WHERE name = 'index_state'").length > 0
          && query(db, "SELECT 1 FROM index_state WHERE key = 'messages_fts'").length > 0;
        while (p.exitCode === null && !pending()) await Bun.sleep(10);
        p.kill("SIGKILL");
        await p.exited;
        if (p.signalCode === "SIGKILL") killed++;
        expect(pending()).toBe(true);
      } else {
        for (const ms of [0.3, 0.55, 0.7, 0.8, 0.9].map((f) => f * whole)) {
          const p = Bun.spawn([...BIN, ...args], { stdout: "ignore", stderr: "ignore" });
          await Bun.sleep(ms);
          p.kill("SIGKILL");
          await p.exited;
          if (p.signalCode === "SIGKILL") killed++;
        }
      }
      expect(killed).toBeGreaterThan(0);
      // the run after the kills: a killed bulk load left the search index pending, a run file by file rebuilds it first
      const r = await run(BIN, [...args, ...(mode === "bulk, then file by file" ? ["--no-bulk"] : []), "--json"]);
      expect(r.code).toBe(0);
      expect(existsSync(`${db}-search-build`)).toBe(false); // a killed bulk load's search index build: removed
      const { out } = await exportAll(db);
      const got = new Map<string, string>(out.files.map((f: any) => [relative(root, f.source), f.sha256]));
      expect(got).toEqual(want);
      expect(out.files.every((f: any) => f.latest)).toBe(true);
      expect(one(db, "PRAGMA integrity_check").integrity_check).toBe("ok");
      // the messages once each, and their search index agrees with them
      const messages = (d: string) => one(d, "SELECT count(*) AS n, sum(length(text)) AS chars FROM messages");
      expect(messages(db)).toEqual(messages(timedDb));
      const w = new Database(db);
      w.run("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)");
      const found = (d: Database) => (d.query("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'file'").get() as { n: number }).n;
      const timed = new Database(timedDb, { readonly: true });
      expect(found(w)).toBe(found(timed));
      expect(found(w)).toBeGreaterThan(0);
      timed.close();
      w.close();
    }, 240_000);
  }
});

/** Three words in a row (as unicode61 splits them) from the first prompt of a file, read here with JSON.parse. */
function phraseOf(file: string): string | null {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    let o: any;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    const text = o?.type === "user" && typeof o.message?.content === "string" && !o.isMeta ? o.message.content
      : o?.type === "event_msg" && o.payload?.type === "user_message" ? o.payload.message : null;
    if (typeof text !== "string" || text.trimStart().startsWith("<")) continue;
    const words = text.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (words.length >= 3) return words.slice(0, 3).join(" ");
  }
  return null;
}

describe("search", () => {
  const t = sampleTree(), db = fresh("search.db");
  const search = async (...args: string[]) => {
    const r = await sluice("search", ...args, "--db", db, "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).results as any[];
  };

  test("a phrase from each sample session's first prompt finds that session, alone and with --session", async () => {
    await index(db, t.claude, t.codex);
    let checked = 0;
    for (const file of walk(t.root)) {
      if (!file.endsWith(".jsonl") || file.includes("/subagents/")) continue;
      const phrase = phraseOf(file);
      if (!phrase) continue;
      const key = one(db, "SELECT s.session_key AS k FROM agent_files f JOIN sessions s ON s.id = f.session_id WHERE f.path = ?", file)?.k;
      const all = await search(`"${phrase}"`, "--limit", "1000");
      expect(all.map((h) => h.session)).toContain(key);
      const only = await search(`"${phrase}"`, `--session=${key.replace(/^(claude|codex):/, "")}`, "--limit", "1000");
      expect(only.length).toBeGreaterThan(0);
      expect(new Set(only.map((h) => h.session))).toEqual(new Set([key]));
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  test("filters narrow: agent, role, project, time, limit; bm25 then the newer first", async () => {
    const all = await search("the", "--limit", "1000");
    expect(all.length).toBeGreaterThan(50);
    for (const [flag, value, field] of [["--agent", "codex", "agent"], ["--agent", "claude", "agent"], ["--role", "user", "role"], ["--role", "tool", "role"]] as const) {
      const some = await search("the", flag, value, "--limit", "1000");
      expect(some.length).toBeGreaterThan(0);
      expect(some.length).toBeLessThan(all.length);
      expect(some.every((h) => h[field] === value)).toBe(true);
    }
    const project = await search("the", "--project", "synthetic-project", "--limit", "1000");
    expect(project.length).toBeGreaterThan(0);
    expect(project.every((h) => h.project.includes("synthetic-project"))).toBe(true);
    const since = await search("the", "--since", "2026-01-01", "--limit", "1000");
    expect(since.length).toBeLessThan(all.length);
    expect(since.every((h) => h.at >= "2026-01-01")).toBe(true);
    const until = await search("the", "--until", "2025-12-31", "--limit", "1000");
    expect(until.every((h) => h.at < "2026-01-01")).toBe(true);
    expect(since.length + until.length).toBeLessThanOrEqual(all.length);
    expect(await search("the", "--limit", "3")).toHaveLength(3);
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1], b = all[i];
      expect(a.rank < b.rank || (a.rank === b.rank && (a.at ?? "") >= (b.at ?? ""))).toBe(true);
    }
  });

  // (a NUL byte cannot pass through argv: the search strips it, for callers that can send one)
  test("more matches than are ranked: the most recently archived 2000 ranked, and the output says so", async () => {
    // 2,100 prompts that all match; the first 100 (the oldest, archived first) are the word alone,
    // which bm25 ranks above all the others: past the cut-off they are not ranked, and show only
    // when a filter narrows the matches below it.
    const root = fresh("cut"), cutDb = fresh("cut.db"), id = "c0ffee00-0000-4000-8000-000000000001";
    mkdirSync(join(root, "projects", "-work-cut"), { recursive: true });
    const at = (i: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + i * 3_600_000).toISOString();
    const text = (i: number) => (i < 100 ? "quokkaseed" : `quokkaseed with filler words to make it longer, number f${i}`);
    writeFileSync(join(root, "projects", "-work-cut", `${id}.jsonl`), Array.from({ length: 2100 }, (_, i) =>
      `${JSON.stringify({ sessionId: id, cwd: "/work/cut", version: "2.0.0", type: "user", timestamp: at(i), message: { role: "user", content: text(i) } })}\n`).join(""));
    await index(cutDb, join(root, "projects"), emptyDir());
    const json = async (...args: string[]) => JSON.parse((await sluice("search", ...args, "--db", cutDb, "--json")).stdout);
    const cut = await json("quokkaseed", "--limit", "5");
    expect(cut.ranked).toBe(2000);
    expect(cut.note).toContain("2000 most recently archived");
    expect(cut.results.map((h: any) => h.snippet)).toEqual(Array.from({ length: 5 }, (_, k) => `quokkaseed with filler words to make it longer, number f${2099 - k}`));
    expect((await sluice("search", "quokkaseed", "--limit", "1", "--db", cutDb)).stdout).toContain("2000 most recently archived were ranked");
    const early = await json("quokkaseed", "--until", "2026-01-04", "--limit", "1000");
    expect(early.ranked).toBeUndefined();
    expect(early.results).toHaveLength(96);
    expect(early.results.every((h: any) => h.snippet === "quokkaseed" && h.rank < cut.results[0].rank)).toBe(true);
    expect((await json("quokkaseed f2050")).results.map((h: any) => h.at)).toEqual([at(2050)]);
  });

  test("hostile queries give one line and exit 2, or results; never a crash", async () => {
    const queries = ['"unbalanced', "NEAR(", "*", "a".repeat(10_000), "AND", "(", ")", "OR OR", "col:foo", "NEAR(a b", "^", '""', "-", "'", "😀*"];
    for (const q of queries) {
      const r = await sluice("search", q, "--db", db);
      expect([0, 2]).toContain(r.code);
      if (r.code === 2) {
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain("double quotes");
      }
      expect(r.stderr).not.toContain("    at ");
    }
  });

  test("snippets: the match highlighted with FORCE_COLOR, plain with NO_COLOR and --no-color", async () => {
    const colored = await run(BIN, ["search", "synthetic files", "--db", db], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(colored.stdout).toContain("\x1b[1;33m");
    const plain = await run(BIN, ["search", "synthetic files", "--db", db], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(plain.stdout).not.toContain("\x1b[");
    expect(plain.stdout.toLowerCase()).toContain("synthetic files");
    const flag = await run(BIN, ["search", "synthetic files", "--db", db, "--no-color"], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(flag.stdout).not.toContain("\x1b[");
  });
});

describe("show", () => {
  const t = sampleTree(), db = fresh("show.db");
  const show = async (...args: string[]) => {
    const r = await sluice("show", ...args, "--db", db);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return r.stdout;
  };

  test("the header (project, models, tokens, cost as the session report has it), then the conversation in order, tool calls one line each", async () => {
    await index(db, t.claude, t.codex);
    const j = JSON.parse(await show("0d3a8e6f", "--json"));
    const report = JSON.parse((await sluice("report", "session", "--json", "--db", db)).stdout).sessions.find((s: any) => s.sessionId === "0d3a8e6f-290f-4105-a327-a2496e5e2a83");
    expect(j.project).toBe(report.projectPath);
    expect(j.totals.totalCost).toBeCloseTo(report.totalCost, 6);
    expect(j.totals.outputTokens).toBe(report.outputTokens);
    expect(j.models.map((m: any) => m.model)).toEqual(report.modelsUsed);
    const kinds = new Set(j.messages.map((m: any) => m.kind));
    for (const k of ["prompt", "text", "tool_call", "tool_result"]) expect(kinds).toContain(k);
    const times = j.messages.map((m: any) => m.at).filter(Boolean);
    expect(times).toEqual([...times].sort());
    const text = await show("0d3a8e6f");
    expect(text).toContain(`project   ${report.projectPath}`);
    expect(text).toContain(`$${report.totalCost.toFixed(2)}`);
    const calls = j.messages.filter((m: any) => m.kind === "tool_call").length;
    expect(text.split("\n").filter((l) => l.startsWith("  → ")).length).toBe(calls);
    expect(text).not.toContain("tool result");
    const unfolded = await show("0d3a8e6f", "--tools");
    expect(unfolded.split("\n").filter((l) => l.startsWith("  → ")).length).toBe(0);
    expect(unfolded.split("\n").filter((l) => l.includes("tool result")).length).toBe(j.messages.filter((m: any) => m.kind === "tool_result").length);
  });

  test("subagents and compactions are marked", async () => {
    const j = JSON.parse(await show("7acd37a8", "--json"));
    expect(j.subagents.length).toBe(1);
    expect(j.messages.some((m: any) => m.session === j.subagents[0].session)).toBe(true);
    expect(await show("7acd37a8")).toContain(`── subagent ${j.subagents[0].session} ──`);
    const compacted = await show("db_golden_edge_cases");
    expect(compacted).toContain("── compaction");
  });
});

describe("credentials", () => {
  const SECRETS = [
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-abcdEFGH",
    "sk-proj-Zx9Yw8Xv7Wu6Vt5Us4Tr3Sq2Rp1Qo0PnMlKjIh",
    "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQR",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AKIAIOSFODNN7EXAMPLQ",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "hunter2correcthorse",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop",
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw",
  ];
  const line = (o: object) => `${JSON.stringify(o)}\n`;
  const base = { sessionId: "5ec2e75e-0000-4000-8000-000000000001", cwd: "/work/secrets", version: "2.0.0" };
  const transcript = [
    line({ ...base, type: "user", timestamp: "2026-03-01T10:00:00.000Z", message: { role: "user", content: `deploy with ${SECRETS[0]} and ${SECRETS[1]} please, zebracanary` } }),
    line({ ...base, type: "assistant", timestamp: "2026-03-01T10:00:01.000Z", requestId: "req_1", message: { id: "msg_1", role: "assistant", model: "claude-sonnet-4-5-20250929",
      content: [{ type: "text", text: `zebracanary: the token ${SECRETS[2]} and ${SECRETS[3]} are set` },
        { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: `curl -H "Authorization: Bearer ${SECRETS[8]}" https://admin:${SECRETS[7]}@db.example.com/zebracanary` } }],
      usage: { input_tokens: 10, output_tokens: 20 } } }),
    line({ ...base, type: "user", timestamp: "2026-03-01T10:00:02.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1",
      content: `zebracanary SLACK=${SECRETS[4]} AWS_ACCESS_KEY_ID=${SECRETS[5]} key=${SECRETS[6]}\n-----BEGIN RSA PRIVATE KEY-----\n${SECRETS[9]}\n-----END RSA PRIVATE KEY-----\n` }] } }),
  ].join("");

  test("seeded credentials never appear in search or show output, nor match a search; export keeps them", async () => {
    const root = fresh("secrets"), db = fresh("secrets.db");
    mkdirSync(join(root, "projects", "-work-secrets"), { recursive: true });
    const file = join(root, "projects", "-work-secrets", `${base.sessionId}.jsonl`);
    writeFileSync(file, transcript);
    await index(db, join(root, "projects"), emptyDir());
    const outputs = [
      (await sluice("search", "zebracanary", "--db", db, "--limit", "100")).stdout,
      (await sluice("search", "zebracanary", "--db", db, "--json", "--limit", "100")).stdout,
      (await sluice("show", "5ec2e75e", "--db", db)).stdout,
      (await sluice("show", "5ec2e75e", "--db", db, "--tools")).stdout,
      (await sluice("show", "5ec2e75e", "--db", db, "--json")).stdout,
    ];
    expect(JSON.parse(outputs[1]!).results.length).toBe(4);
    for (const out of outputs) {
      expect(out).toContain("[masked");
      for (const s of SECRETS) expect(out).not.toContain(s);
    }
    for (const s of ["hunter2correcthorse", "AKIAIOSFODNN7EXAMPLQ", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"]) {
      expect(JSON.parse((await sluice("search", `"${s}"`, "--db", db, "--json")).stdout).results).toEqual([]);
    }
    rmSync(file);
    const out = fresh("secrets-out");
    expect((await sluice("export", "5ec2e75e", "--to", out, "--db", db)).code).toBe(0);
    const exported = readFileSync(join(out, `${base.sessionId}.jsonl`), "utf8");
    expect(exported).toBe(transcript);
    for (const s of SECRETS) expect(exported).toContain(s);
  });
});

describe("mcp", () => {
  test("the SDK's own client starts `sluice mcp`, lists its tools and calls each: the CLI's shapes, credentials masked, a bad query one line", async () => {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    const t = sampleTree(), db = fresh("mcp.db");
    const secret = "sk-ant-api03-MCPsecretMCPsecretMCPsecret0123456789";
    const dir = join(t.root, "claude", "projects", "-work-mcp");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "3c9e0000-0000-4000-8000-000000000001.jsonl"), `${JSON.stringify({ type: "user", sessionId: "3c9e0000-0000-4000-8000-000000000001", cwd: "/work/mcp",
      timestamp: "2026-03-02T10:00:00.000Z", message: { role: "user", content: `okapilantern uses ${secret}` } })}\n`);
    await index(db, t.claude, t.codex);
    const client = new Client({ name: "sluice-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: BIN[0]!, args: [...BIN.slice(1), "mcp", "--db", db], stderr: "pipe" }));
    try {
      const tools = (await client.listTools()).tools.map((x) => x.name).sort();
      expect(tools).toEqual(["list_sessions", "search", "show_session", "usage_report"]);
      const call = async (name: string, args: Record<string, unknown>) => {
        const r: any = await client.callTool({ name, arguments: args });
        return { error: r.isError === true, text: r.content[0].text as string };
      };
      const found = await call("search", { query: "okapilantern" });
      expect(found.error).toBe(false);
      expect(JSON.parse(found.text).results.map((h: any) => h.session)).toEqual(["claude:3c9e0000-0000-4000-8000-000000000001"]);
      const cli = JSON.parse((await sluice("search", "timeline", "--json", "--db", db)).stdout);
      expect(JSON.parse((await call("search", { query: "timeline" })).text)).toEqual(cli);
      const shown = await call("show_session", { session: "0d3a8e6f" });
      expect(JSON.parse(shown.text)).toEqual(JSON.parse((await sluice("show", "0d3a8e6f", "--json", "--db", db)).stdout));
      const listed = await call("list_sessions", { limit: 1000 });
      expect(JSON.parse(listed.text).sessions.length).toBe(one(db, "SELECT count(*) AS n FROM sessions").n);
      const daily = await call("usage_report", { kind: "daily", tz: "UTC" });
      expect(JSON.parse(daily.text)).toEqual(JSON.parse((await sluice("report", "daily", "--json", "--tz", "UTC", "--db", db)).stdout));
      for (const r of [found, shown, listed, await call("show_session", { session: "3c9e0000" }), await call("search", { query: "okapilantern", role: "user" })]) {
        expect(r.text).not.toContain(secret);
      }
      expect((await call("show_session", { session: "3c9e0000" })).text).toContain("[masked: Anthropic key]");
      const bad = await call("search", { query: "NEAR(" });
      expect(bad.error).toBe(true);
      expect(bad.text).toContain("double quotes");
      const nul = await call("search", { query: "okapi\u0000lantern" });
      expect(nul.error).toBe(false);
    } finally {
      await client.close();
    }
  });
});
