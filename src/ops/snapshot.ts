// A consistent copy of a database in one file, written the safe way: VACUUM INTO a temporary file
// beside the target, fsync, integrity_check the copy, then rename it into place. A crash at any
// point leaves either the old target or the new one, never half of one. Used by `sluice backup`
// (writeSnapshot) and by `sluice vacuum --full` (rebuildInPlace, under one exclusive lock).

import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { duration, megabytes } from "../runtime/format";
import { fsyncPath } from "../runtime/fsync";
import { ProgressLine } from "../runtime/progress-line";
import { runSqlInBackground } from "./background-sql";

export interface SnapshotOptions {
  /** Bytes of live pages in the source, for the progress line's percentage. */
  expectedBytes: number;
  /** Show a progress line on stderr. */
  progress: boolean;
  /** Give the copy auto_vacuum=INCREMENTAL (converts a database made without it). */
  incrementalAutoVacuum?: boolean;
  label: string;
}

export interface SnapshotResult {
  bytes: number;
  ms: number;
}

export async function writeSnapshot(dbPath: string, target: string, o: SnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const tmp = `${target}.tmp-${process.pid}`;
  // VACUUM INTO writes into an existing empty file, so the copy never exists with a laxer mode than 0600.
  closeSync(openSync(tmp, "wx", 0o600));
  const line = new ProgressLine(o.progress, o.expectedBytes);
  try {
    await runSqlInBackground(
      {
        dbPath,
        readonly: !o.incrementalAutoVacuum,
        statements: [...(o.incrementalAutoVacuum ? [{ sql: "PRAGMA auto_vacuum = INCREMENTAL" }] : []), { sql: "VACUUM INTO ?", params: [tmp] }],
      },
      () => line.message(copyProgress(o, tmp, started)),
    );
    fsyncPath(tmp);
    const verdict = await runSqlInBackground({ dbPath: tmp, readonly: true, statements: [{ sql: "PRAGMA integrity_check" }] }, () =>
      line.message(`${o.label}: checking the copy's integrity, ${duration((performance.now() - started) / 1000)}`),
    );
    const problems = (verdict as Array<{ integrity_check: string }>).map((r) => r.integrity_check).filter((r) => r !== "ok");
    if (problems.length) throw new Error(`the copy failed integrity_check: ${problems.slice(0, 3).join("; ")}`);
    renameSync(tmp, target);
    fsyncPath(dirname(target));
    return { bytes: statSync(target).size, ms: performance.now() - started };
  } catch (err) {
    removeScratch(tmp);
    throw err;
  } finally {
    line.done();
  }
}

/**
 * `vacuum --full`'s rebuild of `dbPath` in place: the copy, its check and the rename in the SQL
 * worker, which holds the database exclusively throughout (ops/sql-worker.ts).
 */
export async function rebuildInPlace(dbPath: string, o: SnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const tmp = `${dbPath}.tmp-${process.pid}`;
  closeSync(openSync(tmp, "wx", 0o600));
  const line = new ProgressLine(o.progress, o.expectedBytes);
  let checking = false;
  try {
    await runSqlInBackground(
      { rebuild: true, dbPath, tmp, incrementalAutoVacuum: !!o.incrementalAutoVacuum },
      () => line.message(checking ? `${o.label}: checking the copy's integrity, ${duration((performance.now() - started) / 1000)}` : copyProgress(o, tmp, started)),
      () => (checking = true),
    );
    return { bytes: statSync(dbPath).size, ms: performance.now() - started };
  } catch (err) {
    removeScratch(tmp);
    throw err;
  } finally {
    line.done();
  }
}

function copyProgress(o: SnapshotOptions, tmp: string, started: number): string {
  const done = existsSync(tmp) ? statSync(tmp).size : 0;
  const pct = o.expectedBytes > 0 ? Math.min(99.9, (100 * done) / o.expectedBytes).toFixed(1) : "?";
  return `${o.label}: ${megabytes(done)} of ${megabytes(o.expectedBytes)} MB (${pct}%), ${duration((performance.now() - started) / 1000)}`;
}

/** A failed copy leaves nothing behind: the temporary file and the journal SQLite may have made for it. */
function removeScratch(tmp: string) {
  for (const f of [tmp, `${tmp}-journal`]) rmSync(f, { force: true });
}
