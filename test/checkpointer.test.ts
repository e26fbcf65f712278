// The background checkpointer (src/native/checkpointer.c), built as build.ts builds it and loaded
// into real SQLite connections: it must fold the WAL back while the writer commits, fall back to
// the writer when a reader pins the WAL, and stop cleanly when asked or when the connection closes.

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nativeExtension } from "../build";
import { tempDir } from "./helpers";

const tmp = tempDir("sluice-checkpointer-");
afterAll(() => tmp.cleanup());
let n = 0;

/** A fresh copy of the extension per load, as src/native/extension.ts does. */
let built: Buffer | null = null;
function extensionFile(): string {
  if (!built) {
    const so = nativeExtension(undefined);
    if (!so) throw new Error("no C compiler built the native extension: install gcc (apt-get install gcc)");
    built = Buffer.from(so, "base64");
  }
  const file = join(mkdtempSync(join(tmp.dir, "so-")), "sluice-native.so");
  writeFileSync(file, built);
  return file;
}

type Stats = { checkpoints: number; busy: number; inline: number; longestMs: number; totalMs: number };
const call = (db: Database, sql: string): Stats => JSON.parse((db.query(`SELECT ${sql} AS s`).get() as { s: string }).s);
const PAGE = 4096;
const walBytes = (db: string) => Bun.file(`${db}-wal`).size;

function writer(pages: number) {
  const path = join(tmp.dir, `${++n}.db`);
  const db = new Database(path, { create: true });
  db.run(`PRAGMA page_size = ${PAGE}`);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA wal_autocheckpoint = 1000"); // as useLiveSettings: the hook must replace it
  db.run("PRAGMA journal_size_limit = 1048576");
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
  db.loadExtension(extensionFile(), "sqlite3_checkpointer_init");
  call(db, `sluice_checkpointer_start(${pages})`);
  const insert = db.prepare("INSERT INTO t (body) VALUES (?)");
  const body = "x".repeat(1000);
  // ~6 pages per commit, paced like the live tail's batches (faster, to keep the test short)
  const commit = () => db.transaction(() => {
    for (let i = 0; i < 20; i++) insert.run(body);
  })();
  return { path, db, commit };
}

describe.if(process.platform === "linux")("the background checkpointer", () => {
  test("folds the WAL back while the writer commits: the WAL stays a fraction of what was written, every row intact", async () => {
    const w = writer(64);
    const reader = new Database(w.path, { readonly: true });
    let maxWal = 0;
    for (let i = 0; i < 600; i++) {
      w.commit();
      if (i % 20 === 0) expect((reader.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe((i + 1) * 20);
      maxWal = Math.max(maxWal, walBytes(w.path));
      await Bun.sleep(2);
    }
    const stats = call(w.db, "sluice_checkpointer_stop()");
    // 600 commits of ~6 pages: about 14 MB of frames; without checkpoints the WAL would hold them all
    const written = 600 * 6 * PAGE;
    expect(stats.checkpoints).toBeGreaterThan(5);
    expect(maxWal).toBeLessThan(written / 3);
    expect((reader.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe(12_000);
    reader.close();
    expect((w.db.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number }).busy).toBe(0);
    expect((w.db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    w.db.close();
  }, 60_000);

  test("a reader pinning the WAL: the writer checkpoints itself past four times the threshold, and the WAL starts over once the reader lets go", async () => {
    const w = writer(32);
    const pin = new Database(w.path, { readonly: true });
    pin.run("BEGIN");
    pin.query("SELECT count(*) FROM t").get(); // a snapshot: no checkpoint may pass it
    for (let i = 0; i < 150; i++) {
      w.commit();
      await Bun.sleep(1);
    }
    const pinned = call(w.db, "sluice_checkpointer_stats()");
    expect(pinned.inline).toBeGreaterThan(0);
    expect(walBytes(w.path)).toBeGreaterThan(2 << 20); // ~900 frames held back
    pin.run("COMMIT");
    pin.close();
    for (let i = 0; i < 100; i++) {
      w.commit();
      await Bun.sleep(2);
    }
    // the WAL started over, and journal_size_limit cut the file back to 1 MiB at that point
    expect(walBytes(w.path)).toBeLessThan(1.5 * (1 << 20));
    expect((w.db.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe(5000);
    w.db.close();
  }, 60_000);

  test("refuses what it cannot do with a clear error, and stops when its connection closes", async () => {
    const w = writer(16);
    expect(() => call(w.db, "sluice_checkpointer_start(16)")).toThrow("already running");
    const stopped = call(w.db, "sluice_checkpointer_stop()");
    expect(call(w.db, "sluice_checkpointer_stop()")).toEqual(stopped); // a second stop is a no-op
    expect(() => call(w.db, "sluice_checkpointer_start(0)")).toThrow("pages must be at least 1");
    call(w.db, "sluice_checkpointer_start(16)"); // and it starts again after a stop
    for (let i = 0; i < 50; i++) w.commit();
    // closed while the thread runs: the destructor stops it before SQLite unloads the library
    w.db.close();
    await Bun.sleep(100);
    const again = new Database(w.path);
    expect((again.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe(1000);
    again.close();

    const memory = new Database(":memory:");
    memory.loadExtension(extensionFile(), "sqlite3_checkpointer_init");
    expect(() => call(memory, "sluice_checkpointer_start(16)")).toThrow("needs a database file");
    memory.close();
  }, 60_000);
});
