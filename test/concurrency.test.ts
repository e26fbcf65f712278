// Writers side by side (issue: exactly once everywhere). Two `sluice index` runs started together
// must leave the index a single run leaves, never a line counted twice nor a constraint error; and
// `vacuum --full` beside an index run or the index follower must never lose or double a row, nor
// leave a database a reader cannot open. Driven against the compiled binary, on real files.

import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateFile } from "../bench/generate";
import { one, query, RUNNERS, run, SHARED, tempDir } from "./helpers";

const tmp = tempDir("sluice-concurrency-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const BIN = RUNNERS[1]!.cmd;
const SAMPLES = join(SHARED, "samples");
const TRIALS = Number(process.env.SLUICE_RACE_TRIALS ?? 50);

/** What the index holds, compared across databases: every count that a report adds up. */
function contents(db: string) {
  return {
    turns: query(db, "SELECT message_id, request_id, model, at, input_tokens, output_tokens, cache_read_tokens, byte_offset FROM turns ORDER BY message_id, request_id, byte_offset, at"),
    invocations: query(db, "SELECT tool_use_id, name, kind, at, is_error, byte_offset FROM invocations ORDER BY tool_use_id, byte_offset, name"),
    sessions: query(db, "SELECT session_key, turns, input_tokens, output_tokens, tool_calls, user_messages FROM sessions ORDER BY session_key"),
    buckets: query(db, "SELECT * FROM usage_buckets ORDER BY bucket, model"),
  };
}

/** A tree of the Claude and Codex samples, with every file cut at half its lines; `grow` appends the rest. */
function halfTree(): { claude: string; codex: string; grow: () => void } {
  const root = fresh("tree");
  const claude = join(root, "claude"), codex = join(root, "codex");
  cpSync(join(SAMPLES, "claude", "projects"), join(claude, "projects"), { recursive: true });
  cpSync(join(SAMPLES, "codex"), codex, { recursive: true });
  const rests: Array<[string, string]> = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".jsonl")) {
        const text = readFileSync(p, "utf8");
        const lines = text.split("\n");
        const cut = lines.slice(0, Math.floor(lines.length / 2)).join("\n").length;
        const keep = cut > 0 ? cut + 1 : 0;
        writeFileSync(p, text.slice(0, keep));
        rests.push([p, text.slice(keep)]);
      }
    }
  };
  walk(root);
  return { claude, codex, grow: () => { for (const [p, rest] of rests) writeFileSync(p, readFileSync(p, "utf8") + rest); } };
}

const indexArgs = (db: string, t: { claude: string; codex: string }) => ["index", "--claude", t.claude, "--codex", t.codex, "--db", db, "--json"];

describe("two index runs started together", () => {
  test(`${TRIALS} times: the index equals one run's, every run exits 0`, async () => {
    const full = halfTree();
    full.grow();
    const reference = fresh("ref.db");
    expect((await run(BIN, indexArgs(reference, full))).code).toBe(0);
    const want = contents(reference);
    for (let i = 0; i < TRIALS; i++) {
      // Even trials start from an empty index (both runs see new files: a constraint error once);
      // odd ones from the first halves indexed (both see the same appends: counted twice once).
      const db = fresh("race.db");
      let tree: { claude: string; codex: string } = full;
      if (i % 2) {
        const half = halfTree();
        expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
        half.grow();
        tree = half;
      }
      const [a, b] = await Promise.all([run(BIN, indexArgs(db, tree)), run(BIN, indexArgs(db, tree))]);
      expect({ trial: i, codes: [a.code, b.code], stderr: (a.stderr + b.stderr).replace(/^\S*\s*waiting for .*\n/gm, "") }).toEqual({ trial: i, codes: [0, 0], stderr: "" });
      expect(contents(db)).toEqual(want);
    }
  }, 600_000);
});

/** Opens the database as any reader would, and says whether SQLite finds it whole. */
function integrity(db: string): string {
  return String(one(db, "PRAGMA integrity_check").integrity_check);
}

describe("vacuum --full beside the deep index's writers", () => {
  test("beside index runs started at every moment of its copy: nothing lost or doubled, the database always opens whole", async () => {
    const full = halfTree();
    full.grow();
    const reference = fresh("ref.db");
    expect((await run(BIN, indexArgs(reference, full))).code).toBe(0);
    const want = contents(reference);
    // A capture big enough that the rebuild's copy takes a while: an index run must land inside it.
    const base = fresh("capture.db"), capture = fresh("sse_lines.jsonl");
    generateFile(capture, { lines: 150_000, seed: 3 });
    expect((await run(BIN, ["ingest", capture, "--db", base])).code).toBe(0);
    const outcomes = new Set<string>();
    const trials = Math.max(8, TRIALS / 4);
    for (let i = 0; i < trials; i++) {
      const half = halfTree();
      const db = fresh("vacuum.db");
      copyFileSync(base, db);
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      half.grow();
      const v0 = performance.now();
      const vacuum = run(BIN, ["vacuum", "--full", "--db", db]);
      const delay = i === 0 ? 0 : (i * 1500) / trials;
      const index = (async () => (await Bun.sleep(delay), run(BIN, indexArgs(db, half))))();
      const [v, x] = await Promise.all([vacuum, index]);
      outcomes.add(`index at ${delay.toFixed(0)} ms of a ${(performance.now() - v0).toFixed(0)} ms race: vacuum ${v.code}, index ${x.code}`);
      // vacuum goes ahead, or refuses in one line because the index run holds the database
      const said = v.stderr.trim();
      if (v.code !== 0) expect({ code: v.code, said }).toEqual({ code: v.code, said: said.match(/.*(being written by 'sluice index'|another connection (has|began using)).*/)?.[0] ?? "(a refusal naming the index run)" });
      if (x.code !== 0) outcomes.add(`index said: ${x.stderr.trim()}`);
      expect(integrity(db)).toBe("ok");
      // an index run that said it indexed everything did: its rows are in the file at the path
      if (x.code === 0) expect({ trial: i, ...contents(db) }).toEqual({ trial: i, ...want });
      // whatever the race left undone, the next run does, exactly once
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      expect(contents(db)).toEqual(want);
      expect(integrity(db)).toBe("ok");
    }
    console.log(`vacuum beside index: ${[...outcomes].join("; ")}`);
  }, 600_000);

  test("beside index --follow: refused while it runs, and the follower keeps the index exact", async () => {
    const tree = halfTree();
    const db = fresh("follow.db");
    const follower = Bun.spawn([...BIN, "index", "--follow", "--claude", tree.claude, "--codex", tree.codex, "--db", db, "--poll-ms", "200"], { stdout: "ignore", stderr: "pipe" });
    try {
      await waitFor(() => existsSync(db) && one(db, "SELECT count(*) AS n FROM agent_files WHERE indexed_at IS NOT NULL").n > 20);
      for (let i = 0; i < 5; i++) {
        const v = await run(BIN, ["vacuum", "--full", "--db", db]);
        expect(v.code).not.toBe(0);
        expect(v.stderr).toMatch(/another connection has|being written by 'sluice index --follow'/);
        expect(v.stderr.trim().split("\n")).toHaveLength(1);
        expect(integrity(db)).toBe("ok");
      }
      tree.grow();
      const reference = fresh("ref.db");
      expect((await run(BIN, indexArgs(reference, tree))).code).toBe(0);
      const want = contents(reference);
      await waitFor(() => JSON.stringify(contents(db)) === JSON.stringify(want));
    } finally {
      follower.kill("SIGTERM");
      expect(await follower.exited).toBe(0);
    }
    const v = await run(BIN, ["vacuum", "--full", "--db", db]);
    expect(v.code).toBe(0);
    expect(existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0).toBe(0);
    expect(integrity(db)).toBe("ok");
  }, 120_000);
});

async function waitFor(ok: () => boolean, ms = 30_000) {
  const deadline = performance.now() + ms;
  for (;;) {
    let done = false;
    try {
      done = ok();
    } catch {}
    if (done) return;
    if (performance.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(100);
  }
}
