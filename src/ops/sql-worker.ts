// A worker thread that runs long SQL work on its own connection, so the main thread stays free to
// show progress and to handle signals meanwhile: a few statements (VACUUM INTO, integrity_check),
// or the whole rebuild of `vacuum --full`, which must hold the database from the copy to the rename.

import { Database } from "bun:sqlite";
import { renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { BUSY_TIMEOUT_MS } from "../db/settings";
import { markReplaced } from "../db/writer-lock";
import { fsyncPath } from "../runtime/fsync";

export interface SqlJob {
  dbPath: string;
  readonly: boolean;
  statements: Array<{ sql: string; params?: Array<string | number> }>;
}

/**
 * `vacuum --full`'s rebuild: the database copied into `tmp` and put in its place, all under one
 * exclusive lock, so that nothing can write to the old file after the copy, or open it in WAL mode
 * and leave its WAL beside the new one. The old file is marked replaced before the rename: a
 * connection that opened it and waits for the lock sees the mark and opens the path again.
 */
export interface RebuildJob {
  rebuild: true;
  dbPath: string;
  tmp: string;
  incrementalAutoVacuum: boolean;
}

export type SqlResult = { ok: true; rows: unknown[] } | { ok: false; message: string } | { phase: "check" };

declare const self: Worker;

self.onmessage = (event: MessageEvent<SqlJob | RebuildJob>) => {
  const job = event.data;
  try {
    const rows = "rebuild" in job ? rebuild(job) : runStatements(job);
    self.postMessage({ ok: true, rows } satisfies SqlResult);
  } catch (err) {
    self.postMessage({ ok: false, message: (err as Error).message } satisfies SqlResult);
  }
};

function runStatements(job: SqlJob): unknown[] {
  const db = new Database(job.dbPath, job.readonly ? { readonly: true } : { readwrite: true, create: false });
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    let rows: unknown[] = [];
    for (const s of job.statements) rows = db.query(s.sql).all(...(s.params ?? []));
    return rows;
  } finally {
    db.close();
  }
}

function rebuild(job: RebuildJob): unknown[] {
  const db = new Database(job.dbPath, { readwrite: true, create: false });
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Exclusive locking mode keeps the lock a write takes until the connection closes.
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE");
    db.run("COMMIT");
    if (job.incrementalAutoVacuum) db.run("PRAGMA auto_vacuum = INCREMENTAL");
    db.run("VACUUM INTO ?", [job.tmp]);
    self.postMessage({ phase: "check" } satisfies SqlResult);
    checkCopy(job.tmp);
    walMode(job.tmp);
    fsyncPath(job.tmp);
    markReplaced(db);
    renameSync(job.tmp, job.dbPath);
    fsyncPath(dirname(job.dbPath));
    return [];
  } catch (err) {
    for (const f of [job.tmp, `${job.tmp}-journal`, `${job.tmp}-wal`, `${job.tmp}-shm`]) rmSync(f, { force: true });
    throw err;
  } finally {
    db.close();
  }
}

/**
 * The copy goes in place in WAL mode. A connection still open on the replaced file, in rollback
 * mode, looks for a hot journal by name ("<path>-journal"), which after the rename would be the
 * new file's: in WAL mode the new file never has one, so no such connection can take it for its
 * own and roll it back into the old file (seen: "disk I/O error", then "malformed schema").
 */
function walMode(path: string) {
  const copy = new Database(path, { readwrite: true, create: false });
  try {
    copy.run("PRAGMA journal_mode = WAL");
  } finally {
    copy.close();
  }
}

function checkCopy(path: string) {
  const copy = new Database(path, { readonly: true });
  try {
    const problems = (copy.query("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check).filter((r) => r !== "ok");
    if (problems.length) throw new Error(`the copy failed integrity_check: ${problems.slice(0, 3).join("; ")}`);
  } finally {
    copy.close();
  }
}
