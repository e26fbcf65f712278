// A worker thread that writes a snapshot of the database on its own connection, so the main thread
// stays free to show progress and to handle signals meanwhile: VACUUM INTO a temporary file, an
// integrity_check of the copy, then the rename into place (ops/snapshot.ts).

import { Database } from "bun:sqlite";
import { renameSync } from "node:fs";
import { dirname } from "node:path";
import { BUSY_TIMEOUT_MS } from "../db/settings";
import { fileAt, markReplaced } from "../db/writer-lock";
import { fsyncPath, removeScratch } from "../runtime/files";

export interface SnapshotJob {
  dbPath: string;
  /** The empty file (mode 0600) the copy is written into, beside `target`. */
  tmp: string;
  target: string;
  /**
   * `vacuum --full`: the copy replaces the database itself, all under one exclusive lock, so that
   * nothing can write to the old file after the copy, or open it in WAL mode and leave its WAL
   * beside the new one. The old file is marked replaced before the rename: a connection that
   * opened it and waits for the lock sees the mark and opens the path again.
   */
  replace: boolean;
  /** Give the copy auto_vacuum=INCREMENTAL (converts a database made without it); with `replace`. */
  incrementalAutoVacuum: boolean;
  /**
   * Set to 1 by the main thread on a stop signal: the worker gives up at its next step (before the
   * copy, after it, after its check), removes the copy and lets go of the database. A step itself
   * (the VACUUM INTO, the integrity_check) runs to its end: SQLite cannot be interrupted from JS.
   */
  cancel?: Int32Array;
  /** With `replace`: the file ("dev:ino") whose claims the main thread holds, which must still be at the path. */
  file?: string | null;
}

/** How long the replaced file stays locked after the rename (see whenUnlocked in db/writer-lock.ts). */
const REPLACED_HOLD_MS = 100;

/** The message of a snapshot given up at the main thread's request. */
export const SNAPSHOT_CANCELLED = "cancelled by a stop signal";

export type SnapshotReply = { ok: true } | { ok: false; message: string } | { phase: "check" };

declare const self: Worker;

self.onmessage = (event: MessageEvent<SnapshotJob>) => {
  try {
    snapshot(event.data);
    self.postMessage({ ok: true } satisfies SnapshotReply);
  } catch (err) {
    self.postMessage({ ok: false, message: (err as Error).message } satisfies SnapshotReply);
  }
};

function snapshot(job: SnapshotJob) {
  const cancelled = () => {
    if (job.cancel && Atomics.load(job.cancel, 0) !== 0) throw new Error(SNAPSHOT_CANCELLED);
  };
  cancelled();
  const db = new Database(job.dbPath, job.replace ? { readwrite: true, create: false } : { readonly: true });
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (job.replace) {
      holdForReplace(db, job);
      if (job.incrementalAutoVacuum) db.run("PRAGMA auto_vacuum = INCREMENTAL");
    }
    cancelled();
    db.run("VACUUM INTO ?", [job.tmp]);
    cancelled();
    self.postMessage({ phase: "check" } satisfies SnapshotReply);
    checkCopy(job.tmp);
    if (job.replace) walMode(job.tmp);
    fsyncPath(job.tmp);
    // The last moment to give up: past it the copy is in place.
    cancelled();
    if (job.replace) markReplaced(db);
    renameSync(job.tmp, job.target);
    fsyncPath(dirname(job.target));
    // The old file stays held a moment after the rename: a writer that looked at the path just
    // before it (whenUnlocked) is then refused the lock, looks again, and opens the new file.
    if (job.replace) Bun.sleepSync(REPLACED_HOLD_MS);
  } catch (err) {
    removeScratch(job.tmp);
    throw err;
  } finally {
    db.close();
  }
}

/**
 * Takes the database exclusively until the connection closes (exclusive locking mode keeps the
 * lock a write takes), then checks, under that lock, that the path still names the file whose
 * claims the main thread holds and that the file is in rollback-journal mode. A writer can put it
 * back in WAL mode between the main thread's leaving WAL and this lock, and close: the file would
 * then be renamed away with its WAL beside the path, and the new file would take that WAL for its
 * own (seen: "malformed database schema"). It leaves WAL again here, as the only connection.
 */
function holdForReplace(db: Database, job: SnapshotJob) {
  db.run("PRAGMA locking_mode = EXCLUSIVE");
  db.run("BEGIN EXCLUSIVE");
  db.run("COMMIT");
  if (job.file && fileAt(job.dbPath) !== job.file) throw new Error(`${job.dbPath} is no longer the file whose claims this rebuild holds`);
  const mode = () => (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  if (mode() === "wal") db.run("PRAGMA journal_mode = DELETE");
  if (mode() === "wal") throw new Error("database is locked: it stays in WAL mode");
}

/**
 * A copy that replaces the database goes in place in WAL mode. A connection still open on the
 * replaced file, in rollback mode, looks for a hot journal by name ("<path>-journal"), which after
 * the rename would be the new file's: in WAL mode the new file never has one, so no such connection
 * can take it for its own and roll it back into the old file (seen: "disk I/O error", then
 * "malformed schema").
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
