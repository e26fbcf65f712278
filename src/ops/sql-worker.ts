// A worker thread that writes a snapshot of the database on its own connection, so the main thread
// stays free to show progress and to handle signals meanwhile: VACUUM INTO a temporary file, an
// integrity_check of the copy, then the rename into place (ops/snapshot.ts).

import { Database } from "bun:sqlite";
import { renameSync } from "node:fs";
import { dirname } from "node:path";
import { BUSY_TIMEOUT_MS } from "../db/settings";
import { markReplaced } from "../db/writer-lock";
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
}

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
  const db = new Database(job.dbPath, job.replace ? { readwrite: true, create: false } : { readonly: true });
  try {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (job.replace) {
      // Exclusive locking mode keeps the lock a write takes until the connection closes.
      db.run("PRAGMA locking_mode = EXCLUSIVE");
      db.run("BEGIN EXCLUSIVE");
      db.run("COMMIT");
      if (job.incrementalAutoVacuum) db.run("PRAGMA auto_vacuum = INCREMENTAL");
    }
    db.run("VACUUM INTO ?", [job.tmp]);
    self.postMessage({ phase: "check" } satisfies SnapshotReply);
    checkCopy(job.tmp);
    if (job.replace) walMode(job.tmp);
    fsyncPath(job.tmp);
    if (job.replace) markReplaced(db);
    renameSync(job.tmp, job.target);
    fsyncPath(dirname(job.target));
  } catch (err) {
    removeScratch(job.tmp);
    throw err;
  } finally {
    db.close();
  }
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
