// Operations on real databases with real processes: backup while the ingester writes, check and
// its invariants, vacuum (incremental and --full), stats as a health check, migrations from every
// earlier schema version.

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile } from "../bench/generate";
import { MIGRATIONS, APPLICATION_ID, SCHEMA_VERSION } from "../src/db/schema";
import { checkExactlyOnce, modeOf, one, query, RUNNERS, run, SHARED, start, tempDir, waitFor } from "./helpers";

const tmp = tempDir("sluice-ops-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const BIN = RUNNERS[1]!.cmd; // the compiled binary: its worker threads must be bundled too
const sluice = (...args: string[]) => run(BIN, args);

async function ingested(lines: number, seed = 1): Promise<{ file: string; db: string }> {
  const file = fresh("capture.jsonl"), db = fresh("sluice.db");
  generateFile(file, { lines, seed, hostile: 0.05, invalid: 0.01 });
  const r = await sluice("ingest", file, "--db", db);
  expect(r.code).toBe(0);
  return { file, db };
}

function withDb<T>(path: string, f: (db: Database) => T): T {
  const db = new Database(path);
  try {
    return f(db);
  } finally {
    db.close();
  }
}

describe("backup", () => {
  test("a consistent, checked copy with mode 0600 while the live ingester writes; --force to replace", async () => {
    const file = fresh("capture.jsonl"), db = fresh("live.db"), target = fresh("backup.db");
    generateFile(file, { lines: 20_000, seed: 3 });
    const s = start(BIN, ["ingest", file, "--follow", "--db", db, "--poll-ms", "100"]);
    try {
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      let appending = true;
      const appender = (async () => {
        for (let seed = 10; appending; seed++) {
          appendFileSync(file, Buffer.concat([...generate({ lines: 200, seed })]));
          await Bun.sleep(20);
        }
      })();
      const r = await sluice("backup", target, "--db", db, "--json");
      appending = false;
      await appender;
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.target).toBe(target);
      expect(modeOf(target)).toBe(0o600);
      // the copy is a snapshot: a prefix of the file, with every invariant holding
      const c = await sluice("check", "--full", "--db", target, "--json");
      expect(JSON.parse(c.stdout).problems).toEqual([]);
      expect(c.code).toBe(0);
      const copied = one(target, "SELECT count(*) AS n FROM sse_rows").n;
      expect(copied).toBeGreaterThanOrEqual(20_000);
      await waitFor("the tail caught up", () => one(db, "SELECT committed_offset AS c FROM sources WHERE state = 'active'")?.c === statSync(file).size);
      const prefix = query(db, "SELECT byte_offset, raw FROM sse_lines ORDER BY byte_offset LIMIT ?", copied);
      expect(query(target, "SELECT byte_offset, raw FROM sse_lines ORDER BY byte_offset")).toEqual(prefix);

      // an existing target is kept unless --force
      const before = readFileSync(target);
      const again = await sluice("backup", target, "--db", db);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain("--force");
      expect(readFileSync(target).equals(before)).toBe(true);
      expect((await sluice("backup", target, "--db", db, "--force")).code).toBe(0);
      expect(one(target, "SELECT count(*) AS n FROM sse_rows").n).toBe(one(db, "SELECT count(*) AS n FROM sse_rows").n);
    } finally {
      s.proc.kill("SIGTERM");
      await s.exited;
    }
    checkExactlyOnce(db, readFileSync(file));
  }, 60_000);
});

describe("check", () => {
  test("healthy: exit 0, and the result is recorded for stats", async () => {
    const { db } = await ingested(3000);
    const r = await sluice("check", "--db", db);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok: quick_check passed");
    expect(one(db, "SELECT kind, ok FROM checks ORDER BY id DESC")).toEqual({ kind: "quick", ok: 1 });
  });

  test("each broken invariant is named, exit 1", async () => {
    const { db } = await ingested(3000);
    withDb(db, (d) => {
      d.run("DELETE FROM sse_raw WHERE id = (SELECT max(id) FROM sse_raw)"); // a row without its raw line
      d.run("INSERT INTO sse_rows (id, file_id, byte_offset) SELECT max(id) + 1000000000, 1, 0 FROM sse_rows"); // a duplicate of line 0
      d.run("DROP INDEX idx_sse_sid");
      d.run("INSERT INTO sse_rows (id, file_id, byte_offset) SELECT max(id) + 1, 77, 0 FROM sse_rows"); // an unknown source
    });
    const r = await sluice("check", "--db", db, "--json");
    expect(r.code).toBe(1);
    const problems: string[] = JSON.parse(r.stdout).problems;
    const all = problems.join("\n");
    expect(all).toContain("in sse_raw");
    expect(all).toContain("does not rise");
    expect(all).toContain("idx_sse_sid is missing");
    expect(all).toContain("name a source that does not exist");
    expect(all).toContain("committed line count");
    expect(one(db, "SELECT ok FROM checks ORDER BY id DESC").ok).toBe(0);
    // and stats turns it into an unhealthy verdict
    const s = await sluice("stats", "--db", db, "--json");
    expect(s.code).toBe(2);
    expect(JSON.parse(s.stdout).health).toBe("unhealthy");
  });

  test("a row past the committed offset, and a damaged page", async () => {
    const { db } = await ingested(3000);
    withDb(db, (d) => d.run("UPDATE sources SET committed_offset = 100"));
    const r = await sluice("check", "--db", db);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("past the committed offset");

    const { db: db2 } = await ingested(3000, 2);
    const bytes = readFileSync(db2);
    const page = (one(db2, "PRAGMA page_size") as any).page_size;
    // the root page of sse_raw: certainly in use (a page picked by number may be on the free list)
    const root = one(db2, "SELECT rootpage FROM sqlite_schema WHERE name = 'sse_raw'").rootpage;
    bytes.fill(0x5a, page * (root - 1), page * root);
    writeFileSync(db2, bytes);
    const full = await sluice("check", "--full", "--db", db2);
    expect(full.code).not.toBe(0);
    expect(full.stdout + full.stderr).toMatch(/integrity_check|damaged/);
  });
});

describe("vacuum", () => {
  test("incremental: free pages go back to the file system, rows stay", async () => {
    const { file, db } = await ingested(5000);
    withDb(db, (d) => {
      d.run("CREATE TABLE scratch (b BLOB)");
      d.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) INSERT INTO scratch SELECT randomblob(8000) FROM c");
      d.run("DROP TABLE scratch");
    });
    const before = statSync(db).size;
    expect(one(db, "PRAGMA freelist_count").freelist_count).toBeGreaterThan(1000);
    const r = await sluice("vacuum", "--db", db, "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).freePagesBefore).toBeGreaterThan(1000);
    expect(one(db, "PRAGMA freelist_count").freelist_count).toBe(0);
    expect(statSync(db).size).toBeLessThan(before - 15_000_000);
    checkExactlyOnce(db, readFileSync(file));
  });

  test("--full converts a database made without auto_vacuum, refuses while an ingester runs", async () => {
    const { file, db } = await ingested(4000);
    // the same rows in a database made without auto_vacuum (as sluice before auto_vacuum made them)
    const none = fresh("none.db");
    withDb(none, (d) => {
      d.run("PRAGMA auto_vacuum = NONE");
      d.run(`ATTACH '${db}' AS src`);
      // a virtual table (the messages' FTS5 index) makes its own shadow tables, and is rebuilt from its content
      const virtual = (d.query("SELECT name FROM src.sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL TABLE%'").all() as any[]).map((r) => r.name as string);
      const shadow = (name: string) => virtual.some((v) => name.startsWith(`${v}_`));
      for (const { name, sql } of d.query("SELECT name, sql FROM src.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC, rowid").all() as any[]) {
        if (!shadow(name)) d.run(sql);
      }
      for (const { name } of d.query("SELECT name FROM src.sqlite_schema WHERE type = 'table'").all() as any[]) {
        if (!shadow(name) && !virtual.includes(name)) d.run(`INSERT INTO main."${name}" SELECT * FROM src."${name}"`);
      }
      for (const v of virtual) d.run(`INSERT INTO main."${v}" ("${v}") VALUES ('rebuild')`);
      d.run(`PRAGMA application_id = ${APPLICATION_ID}`);
      d.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      d.run("DETACH src");
      d.run("CREATE TABLE scratch (b BLOB)");
      d.run("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 500) INSERT INTO scratch SELECT randomblob(8000) FROM c");
      d.run("DROP TABLE scratch");
    });
    expect(one(none, "PRAGMA auto_vacuum").auto_vacuum).toBe(0);
    const plain = await sluice("vacuum", "--db", none);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("vacuum --full");
    expect(one(none, "PRAGMA auto_vacuum").auto_vacuum).toBe(0);

    const full = await sluice("vacuum", "--full", "--db", none, "--json");
    expect(full.code).toBe(0);
    const r = JSON.parse(full.stdout);
    expect([r.autoVacuumBefore, r.autoVacuumAfter]).toEqual(["none", "incremental"]);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
    expect(modeOf(none)).toBe(0o600);
    checkExactlyOnce(none, readFileSync(file));
    expect((await sluice("check", "--full", "--db", none)).code).toBe(0);

    // a running ingester holds the database: --full refuses and names it
    const s = start(BIN, ["ingest", file, "--follow", "--db", db, "--poll-ms", "100"]);
    try {
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      const busy = await sluice("vacuum", "--full", "--db", db);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`PID ${s.proc.pid}`);
      // the incremental vacuum works beside it
      expect((await sluice("vacuum", "--db", db)).code).toBe(0);
    } finally {
      s.proc.kill("SIGTERM");
      await s.exited;
    }
    // the live tail left the database in WAL, where another connection open (a sqlite3 shell, a
    // report) shows: --full refuses and says so
    const reader = new Database(db, { readonly: true });
    try {
      reader.query("SELECT count(*) FROM sqlite_schema").get();
      const open = await sluice("vacuum", "--full", "--db", db);
      expect(open.code).toBe(1);
      expect(open.stderr).toContain("another connection has");
      expect(open.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      reader.close();
    }
    expect(one(db, "PRAGMA journal_mode").journal_mode).toBe("wal");
  }, 60_000);
});

describe("stats", () => {
  test("ok while the ingester runs, unhealthy once it is killed, degraded when stopped", async () => {
    const file = fresh("capture.jsonl"), db = fresh("live.db");
    generateFile(file, { lines: 2000, seed: 5 });
    const s = start(BIN, ["ingest", file, "--follow", "--db", db, "--poll-ms", "100"]);
    try {
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      expect((await sluice("check", "--db", db)).code).toBe(0);
      appendFileSync(file, Buffer.concat([...generate({ lines: 500, seed: 6 })]));
      await waitFor("a heartbeat with a rate", () => one(db, "SELECT lines_per_s FROM ingester")?.lines_per_s > 0);
      const r = await sluice("stats", "--db", db, "--json");
      const st = JSON.parse(r.stdout);
      expect(st.reasons).toEqual([]);
      expect([r.code, st.health]).toEqual([0, "ok"]);
      expect(st.tables.sse_rows).toBe(2500);
      expect(st.ingester.pid).toBe(s.proc.pid);
      expect(st.ingester.rssBytes).toBeGreaterThan(1 << 20);
      expect(st.sources[0].linesPerSecondLastMinute).toBeGreaterThan(0);
      expect(st.lastCheck.ok).toBe(true);
      const text = await sluice("stats", "--db", db);
      expect(text.stdout).toMatch(/^health +ok/);
    } finally {
      s.proc.kill("SIGKILL");
      await s.exited;
    }
    const dead = await sluice("stats", "--db", db, "--json");
    expect(dead.code).toBe(2);
    expect(JSON.parse(dead.stdout).reasons.join()).toContain("the ingester is gone");

    const restarted = await sluice("ingest", file, "--db", db);
    expect(restarted.code).toBe(0);
    const stopped = await sluice("stats", "--db", db);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toContain("stopped cleanly");
  }, 60_000);
});

describe("migrations", () => {
  test("a database at every earlier schema version upgrades with its rows unchanged", async () => {
    const { file, db } = await ingested(3000);
    // the tables with rows of their own: a full-text index (12: messages_fts) and its shadow tables
    // are filled by the triggers on the table it indexes as its rows are copied
    const tables = (d: Database) => (d.query(`SELECT name FROM sqlite_schema t WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'
      AND NOT EXISTS (SELECT 1 FROM sqlite_schema v WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%' AND t.name LIKE v.name || '\\_%' ESCAPE '\\') ORDER BY name`).all() as any[]).map((r) => r.name as string);
    // every column in turn orders the rows (usage_buckets has no rowid)
    const ordered = (d: Database, t: string) => `SELECT * FROM "${t}" ORDER BY ${(d.query(`PRAGMA table_info("${t}")`).all() as any[]).map((_, i) => i + 1).join(", ")}`;
    const dump = (path: string, names: string[]) => withDb(path, (d) => Object.fromEntries(names.map((t) => [t, d.query(ordered(d, t)).all()])));
    // the deep index too, so the migrations that rebuild its tables have rows to keep
    const samples = join(SHARED, "samples");
    expect((await sluice("index", "--claude", join(samples, "claude", "projects"), "--codex", join(samples, "codex"), "--db", db)).code).toBe(0);
    expect(one(db, "SELECT count(*) AS n FROM invocations").n).toBeGreaterThan(100);
    for (let version = 1; version < SCHEMA_VERSION; version++) {
      const old = fresh(`v${version}.db`);
      let names: string[] = [];
      withDb(old, (d) => {
        d.run("PRAGMA auto_vacuum = INCREMENTAL");
        for (const m of MIGRATIONS.filter((m) => m.version <= version)) m.up(d);
        d.run(`PRAGMA application_id = ${APPLICATION_ID}`);
        d.run(`PRAGMA user_version = ${version}`);
        names = tables(d);
        d.run(`ATTACH '${db}' AS src`);
        for (const t of names) {
          const cols = (d.query(`PRAGMA main.table_info("${t}")`).all() as any[]).map((c) => `"${c.name}"`).join(", ");
          // OR REPLACE: a migration may have made a row itself (10: the device's)
          d.run(`INSERT OR REPLACE INTO main."${t}" (${cols}) SELECT ${cols} FROM src."${t}"`);
        }
      });
      const before = dump(old, names);
      expect(before.sse_rows!.length).toBe(one(db, "SELECT count(*) AS n FROM sse_rows").n);
      // any command that writes opens through the migrations: an ingest that finds nothing new
      const r = await sluice("ingest", file, "--db", old);
      expect(r.code).toBe(0);
      expect(one(old, "PRAGMA user_version").user_version).toBe(SCHEMA_VERSION);
      const after = dump(old, names);
      // the columns the table had (a migration may add one, as 8 added agent_files.tail_fingerprint)
      const asBefore = (t: string) => after[t]!.map((row: any) => Object.fromEntries(Object.keys(before[t]![0] ?? row).map((k) => [k, row[k]])));
      for (const t of names.filter((t) => t !== "ingester" && t !== "sources")) expect(asBefore(t)).toEqual(before[t] as any[]);
      // sources only gains the time of the last commit of the run; ingester is rewritten by the run
      expect(dump(old, ["sources"]).sources!.map((s: any) => [s.id, s.committed_offset, s.lines])).toEqual(before.sources!.map((s: any) => [s.id, s.committed_offset, s.lines]));
      expect((await sluice("check", "--db", old)).code).toBe(0);
      checkExactlyOnce(old, readFileSync(file));
    }
  }, 60_000);
});
