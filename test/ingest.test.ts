// End to end: `sluice ingest` as a real process on real files into real databases, from source and
// as the compiled binary (`bun run build.ts` first; the README's test command does that).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, copyFileSync, existsSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateFile } from "../bench/generate";
import { checkExactlyOnce, expectedLines, query, RUNNERS, run, SHARED, tempDir } from "./helpers";

const tmp = tempDir();
const small = join(tmp.dir, "small.jsonl"); // hostile and invalid lines mixed in
const large = join(tmp.dir, "large.jsonl"); // over MIN_PARALLEL_BYTES, so it is split across threads

beforeAll(() => {
  generateFile(small, { lines: 4000, seed: 7, hostile: 0.2, invalid: 0.03, huge: 0.002, maxLineBytes: 200_000 });
  generateFile(large, { lines: 60_000, seed: 8, hostile: 0.01, invalid: 0.001 });
});
afterAll(() => tmp.cleanup());

let dbCount = 0;
const newDb = () => join(tmp.dir, `t${++dbCount}.db`);
const sha = (p: string) => new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");

for (const runner of RUNNERS) {
  describe(runner.name, () => {
    const sluice = (args: string[], opts?: Parameters<typeof run>[2]) => run(runner.cmd, args, opts);

    beforeAll(() => {
      if (!existsSync(runner.cmd[0]!)) throw new Error(`${runner.cmd[0]} is missing: run 'bun run build.ts' first (the README's test command does)`);
    });

    test("every line lands exactly once, byte for byte; bad lines go to rejects", async () => {
      const db = newDb();
      const r = await sluice(["ingest", small, "--db", db, "--json"]);
      expect(r.stderr).not.toContain("unexpected");
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout);
      const file = readFileSync(small);
      const { rows, rejects } = checkExactlyOnce(db, file);
      expect(summary.rows).toBe(rows);
      expect(summary.rejects).toBe(rejects);
      expect(rejects).toBeGreaterThan(50);
      // each reject has its offset, length, reason and first bytes
      const want = expectedLines(file).filter((l) => !l.fields);
      const got = query(db, "SELECT byte_offset, length, reason, head FROM rejects ORDER BY byte_offset");
      expect(got.map((g) => [g.byte_offset, g.length, g.reason])).toEqual(want.map((w) => [w.offset, w.raw.length, w.reason]));
      expect(Buffer.from(got[0].head).equals(want[0]!.raw.subarray(0, 4096))).toBe(true);
      // the summary line of a terminal-less run goes to stderr, never stdout
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
    });

    for (const [mode, env] of [["the byte scanner", {}], ["JSON.parse, without the JIT", { BUN_JSC_useJIT: "0" }]] as const)
    test(`columns equal JSON.parse, and the view decodes line and metadata (${mode})`, async () => {
      const db = newDb();
      expect((await sluice(["ingest", small, "--db", db], { env })).code).toBe(0);
      const want = expectedLines(readFileSync(small)).filter((l) => l.fields);
      const got = query(db, "SELECT * FROM sse_lines ORDER BY byte_offset");
      expect(got).toHaveLength(want.length);
      for (let i = 0; i < got.length; i++) {
        const g = got[i], w = want[i]!;
        const parsed = JSON.parse(w.raw.toString("utf8"));
        const asSql = (v: unknown) => (v === undefined || v === null ? null : typeof v === "object" ? JSON.stringify(v) : typeof v === "boolean" ? Number(v) : v);
        const expected = { ...w.fields, metadata: asSql(parsed.metadata), line: asSql(parsed.line) };
        const actual: Record<string, unknown> = {};
        for (const k of Object.keys(expected)) actual[k] = typeof g[k] === "bigint" ? Number(g[k]) : g[k];
        // bigint columns aside, strings with lone surrogates cannot be stored as UTF-8: compare as SQLite stores them
        const norm = (o: Record<string, unknown>) => JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === "string" ? Buffer.from(v, "utf8").toString("utf8") : typeof v === "bigint" ? Number(v) : v)));
        if (JSON.stringify(norm(actual)) !== JSON.stringify(norm(expected))) {
          throw new Error(`row at ${w.offset} differs:\n got ${JSON.stringify(norm(actual))}\nwant ${JSON.stringify(norm(expected))}`);
        }
      }
    });

    test("a second run goes on from the committed offset: appended lines only, no duplicates", async () => {
      const db = newDb();
      const file = join(tmp.dir, `grow-${runner.name.length}.jsonl`);
      copyFileSync(small, file);
      expect((await sluice(["ingest", file, "--db", db])).code).toBe(0);
      const again = JSON.parse((await sluice(["ingest", file, "--db", db, "--json"])).stdout);
      expect(again.lines).toBe(0);
      generateFile(file, { lines: 500, seed: 99 }, "a");
      const third = JSON.parse((await sluice(["ingest", file, "--db", db, "--json"])).stdout);
      expect(third.rows).toBe(500);
      checkExactlyOnce(db, readFileSync(file));
    });

    test("parallel and single-threaded backfills give identical tables", async () => {
      const one = newDb(), two = newDb();
      const a = JSON.parse((await sluice(["ingest", large, "--db", one, "--json", "--jobs", "1"])).stdout);
      const b = JSON.parse((await sluice(["ingest", large, "--db", two, "--json", "--jobs", "2"])).stdout);
      expect(a.jobs).toBe(1);
      expect(b.jobs).toBe(2);
      expect(a.rows).toBeGreaterThan(50_000);
      expect(b.rows).toBe(a.rows);
      expect(b.rejects).toBe(a.rejects);
      const file = readFileSync(large);
      checkExactlyOnce(one, file);
      checkExactlyOnce(two, file);
      const dump = (p: string) => query(p, "SELECT * FROM sse_lines ORDER BY byte_offset").map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
      expect(dump(two)).toEqual(dump(one));
      const rej = (p: string) => query(p, "SELECT byte_offset, length, reason FROM rejects ORDER BY byte_offset");
      expect(rej(two)).toEqual(rej(one));
      // the allowlisted indexes exist after the backfill, and none on the raw line
      const idx = query(two, "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'idx_sse_%' ORDER BY name");
      expect(idx.map((i) => i.name)).toEqual(["idx_sse_flow_id", "idx_sse_meta_cwd", "idx_sse_meta_pid", "idx_sse_meta_turn_id", "idx_sse_round", "idx_sse_sid", "idx_sse_t"]);
      expect(idx.every((i) => i.tbl_name === "sse_rows")).toBe(true);
      // no part database is left behind
      expect(existsSync(`${two}.part1`)).toBe(false);
    });

    test("stdin: cat file | sluice ingest -", async () => {
      const db = newDb();
      const bytes = readFileSync(small);
      const r = await sluice(["ingest", "-", "--db", db, "--json"], { stdin: bytes });
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      const want = expectedLines(bytes);
      expect(s.rows).toBe(want.filter((l) => l.fields).length);
      expect(query(db, "SELECT kind, path FROM sources")).toEqual([{ kind: "stdin", path: "-" }]);
    });

    test("a final line without a newline: ingested when complete, left when partial", async () => {
      const db = newDb();
      const file = join(tmp.dir, `final-${runner.name.length}.jsonl`);
      writeFileSync(file, '{"sid":"a"}\n{"sid":"complete"}');
      let s = JSON.parse((await sluice(["ingest", file, "--db", db, "--json"])).stdout);
      expect(s.rows).toBe(2);
      appendFileSync(file, '\n{"sid":"partial');
      const r = await sluice(["ingest", file, "--db", db, "--json"]);
      s = JSON.parse(r.stdout);
      expect(s.rows).toBe(0);
      expect(s.rejects).toBe(0);
      expect(s.pendingBytes).toBe('{"sid":"partial'.length);
      expect(r.stderr).toContain("unfinished line");
      appendFileSync(file, '"}\n');
      s = JSON.parse((await sluice(["ingest", file, "--db", db, "--json"])).stdout);
      expect(s.rows).toBe(1);
      expect(query(db, "SELECT sid FROM sse_lines ORDER BY byte_offset").map((r) => r.sid)).toEqual(["a", "complete", "partial"]);
    });

    test("lines longer than --max-line go to rejects; blank lines and CRLF are fine", async () => {
      const db = newDb();
      const file = join(tmp.dir, `long-${runner.name.length}.jsonl`);
      const long = `{"sid":"${"x".repeat(300_000)}"}`;
      writeFileSync(file, `{"sid":"1"}\r\n\n   \n${long}\n{"sid":"2"}\n${long}`);
      const s = JSON.parse((await sluice(["ingest", file, "--db", db, "--json", "--max-line", "100000"])).stdout);
      expect(s.rows).toBe(2);
      expect(s.rejects).toBe(2);
      const rej = query(db, "SELECT byte_offset, length, reason, length(head) AS head FROM rejects ORDER BY byte_offset");
      expect(rej.map((r) => [r.length, r.reason, r.head])).toEqual([
        [long.length, "longer than --max-line", 4096],
        [long.length, "longer than --max-line", 4096],
      ]);
      expect(rej[0].byte_offset).toBe(`{"sid":"1"}\r\n\n   \n`.length);
      expect(query(db, "SELECT raw FROM sse_lines ORDER BY byte_offset").map((r) => r.raw)).toEqual(['{"sid":"1"}', '{"sid":"2"}']);
    });

    test("--start-offset: refused off a line start or before the committed offset", async () => {
      const db = newDb();
      const bytes = readFileSync(small);
      const second = bytes.indexOf(10) + 1;
      let r = await sluice(["ingest", small, "--db", db, "--start-offset", String(second + 1)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not at a line start");
      r = await sluice(["ingest", small, "--db", db, "--start-offset", String(second), "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).startOffset).toBe(second);
      expect(query(db, "SELECT min(byte_offset) AS m FROM sse_rows")[0].m).toBeGreaterThanOrEqual(second);
      r = await sluice(["ingest", small, "--db", db, "--start-offset", "0"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("a second time");
    });

    test("--from-scratch starts the table over", async () => {
      const db = newDb();
      await sluice(["ingest", small, "--db", db]);
      const s = JSON.parse((await sluice(["ingest", small, "--db", db, "--json", "--from-scratch"])).stdout);
      expect(s.startOffset).toBe(0);
      checkExactlyOnce(db, readFileSync(small));
    });

    test("a truncated or replaced file is detected, recorded, and read from byte 0", async () => {
      const db = newDb();
      const file = join(tmp.dir, `rot-${runner.name.length}.jsonl`);
      copyFileSync(small, file);
      await sluice(["ingest", file, "--db", db]);
      truncateSync(file, 1000);
      let r = await sluice(["ingest", file, "--db", db, "--json"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("truncated");
      expect(JSON.parse(r.stdout).sourceId).toBe(2);
      // replaced: same path, other content (rename rotation of another file into place)
      const other = join(tmp.dir, `other-${runner.name.length}.jsonl`);
      generateFile(other, { lines: 300, seed: 4242 });
      renameSync(other, file);
      r = await sluice(["ingest", file, "--db", db, "--json"]);
      expect(r.stderr).toContain("replaced");
      const s = JSON.parse(r.stdout);
      expect(s.sourceId).toBe(3);
      expect(s.rows).toBe(300);
      checkExactlyOnce(db, readFileSync(file), 3);
      const events = query(db, "SELECT source_id, kind FROM source_events ORDER BY id");
      expect(events).toEqual([
        { source_id: 1, kind: "truncated" },
        { source_id: 2, kind: "follows" },
        { source_id: 2, kind: "replaced" },
        { source_id: 3, kind: "follows" },
      ]);
      expect(query(db, "SELECT id, state FROM sources ORDER BY id").map((s) => s.state)).toEqual(["retired", "retired", "active"]);
    });

    test("idx_sse_* indexes off the allowlist are dropped and reported", async () => {
      const db = newDb();
      await sluice(["ingest", small, "--db", db]);
      const d = new Database(db);
      d.run("CREATE INDEX idx_sse_event ON sse_rows(event)");
      d.run("CREATE INDEX my_own ON sse_rows(event)");
      d.close();
      const r = await sluice(["ingest", small, "--db", db]);
      expect(r.stderr).toContain("idx_sse_event");
      const names = query(db, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sse_rows'").map((x) => x.name);
      expect(names).not.toContain("idx_sse_event");
      expect(names).toContain("my_own");
    });

    test("the database and its journal are created with mode 0600", async () => {
      const db = join(tmp.dir, "sub", `perm-${runner.name.length}.db`);
      await sluice(["ingest", small, "--db", db]);
      expect(statSync(db).mode & 0o777).toBe(0o600);
      if (existsSync(`${db}-journal`)) expect(statSync(`${db}-journal`).mode & 0o777).toBe(0o600);
    });

    test("the default database is $SLUICE_DB, else under $XDG_DATA_HOME", async () => {
      const xdg = join(tmp.dir, `xdg-${runner.name.length}`);
      const r = await sluice(["ingest", small, "--json"], { env: { XDG_DATA_HOME: xdg, SLUICE_DB: "" } });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).db).toBe(join(xdg, "sluice", "sluice.db"));
      const explicit = join(tmp.dir, `env-${runner.name.length}.db`);
      const r2 = await sluice(["ingest", small, "--json"], { env: { SLUICE_DB: explicit } });
      expect(JSON.parse(r2.stdout).db).toBe(explicit);
    });

    test("missing input, unreadable input, and databases that are not sluice's: exit 2, nothing written", async () => {
      let r = await sluice(["ingest", join(tmp.dir, "nope.jsonl"), "--db", newDb()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("no such file");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);

      r = await sluice(["ingest", tmp.dir, "--db", newDb()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not a regular file");

      const foreign = newDb();
      const f = new Database(foreign);
      f.run("CREATE TABLE notes(x)");
      f.run("INSERT INTO notes VALUES (1)");
      f.close();
      const before = sha(foreign);
      r = await sluice(["ingest", small, "--db", foreign]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not a sluice database");
      expect(sha(foreign)).toBe(before);

      const text = newDb();
      writeFileSync(text, "hello, not a database at all\n".repeat(10));
      r = await sluice(["ingest", small, "--db", text]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not a SQLite database");
      expect(readFileSync(text, "utf8")).toBe("hello, not a database at all\n".repeat(10));

      const newer = newDb();
      await sluice(["ingest", small, "--db", newer]);
      const n = new Database(newer);
      n.run("PRAGMA user_version = 999");
      n.close();
      const beforeNewer = sha(newer);
      r = await sluice(["ingest", small, "--db", newer]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("newer sluice");
      expect(sha(newer)).toBe(beforeNewer);
    });

    test("real API event streams from the samples, wrapped in envelopes", async () => {
      const db = newDb();
      const file = join(tmp.dir, `samples-${runner.name.length}.jsonl`);
      const lines: string[] = [];
      let round = 0;
      for (const name of ["anthropic/basic_response.sse", "anthropic/tool_use_response.sse", "anthropic/server_tool_use_response.sse", "openai/codex_cli_responses_fixture.sse"]) {
        let event = "";
        for (const line of readFileSync(join(SHARED, "samples", "sse", name), "utf8").split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          lines.push(JSON.stringify({ t: "2026-01-24T10:15:02.123Z", source: name.startsWith("openai") ? "codex" : "claude", sid: "s1", flow_id: `fl_${round}`, round, event, metadata: JSON.stringify({ pid: 1, cwd: "/p", turn_id: `turn_${round}` }), line }));
        }
        round++;
      }
      writeFileSync(file, lines.join("\n") + "\n");
      expect((await sluice(["ingest", file, "--db", db])).code).toBe(0);
      checkExactlyOnce(db, readFileSync(file));
      const deltas = query(db, "SELECT line ->> '$.delta.text' AS text FROM (SELECT substr(line, 7) AS line FROM sse_lines WHERE event = 'content_block_delta' AND flow_id = 'fl_0' AND line LIKE 'data: %') ORDER BY 1");
      expect(deltas.map((d) => d.text).join("")).toContain("Hello");
    });
  });
}

describe("indexes on a large read", () => {
  const sluice = (args: string[]) => run(RUNNERS[1]!.cmd, args);
  test("a first read over 64 MB drops and builds them; as much appended to a database twice its size keeps them up row by row", async () => {
    const base = join(tmp.dir, "big.jsonl"), more = join(tmp.dir, "more.jsonl");
    generateFile(base, { lines: 200_000, seed: 21 });
    generateFile(more, { lines: 110_000, seed: 22 });
    expect(statSync(more).size).toBeGreaterThan(64 << 20);
    const first = newDb(), alone = newDb();
    let r = await sluice(["ingest", base, "--db", first, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).indexesBuilt).toBe(7);
    expect(statSync(first).size).toBeGreaterThan(2 * statSync(more).size);
    appendFileSync(base, readFileSync(more));
    r = await sluice(["ingest", base, "--db", first, "--json"]);
    expect(r.code).toBe(0);
    // rebuilding them would sort the whole table again for a read half its size
    expect(JSON.parse(r.stdout)).toMatchObject({ indexesBuilt: 0, lines: 110_000 });
    checkExactlyOnce(first, readFileSync(base));
    r = await sluice(["ingest", more, "--db", alone, "--json"]);
    expect(JSON.parse(r.stdout).indexesBuilt).toBe(7);
    checkExactlyOnce(alone, readFileSync(more));
  }, 120_000);
});
