// A consistent copy of a database in one file, written the safe way: VACUUM INTO a temporary file
// beside the target, integrity_check the copy, fsync, then rename it into place. A crash at any
// point leaves either the old target or the new one, never half of one. Used by `sluice backup` and,
// with `replace` (the copy put in place of the database itself, under one exclusive lock), by
// `sluice vacuum --full`. The work runs in the SQL worker (ops/sql-worker.ts).

import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { removeScratch } from "../runtime/files";
import { duration, megabytes } from "../runtime/format";
import { ProgressLine } from "../runtime/progress-line";
import { runSnapshotInBackground } from "./background-sql";

export interface SnapshotOptions {
  /** Bytes of live pages in the source, for the progress line's percentage. */
  expectedBytes: number;
  /** Show a progress line on stderr. */
  progress: boolean;
  /** The copy replaces `dbPath` itself (vacuum --full); the target is then `dbPath`. */
  replace?: boolean;
  /** Give the copy auto_vacuum=INCREMENTAL (converts a database made without it); with `replace`. */
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
  let checking = false;
  const elapsed = () => duration((performance.now() - started) / 1000);
  try {
    await runSnapshotInBackground(
      { dbPath, tmp, target, replace: !!o.replace, incrementalAutoVacuum: !!o.incrementalAutoVacuum },
      () => line.message(checking ? `${o.label}: checking the copy's integrity, ${elapsed()}` : `${o.label}: ${copyProgress(o.expectedBytes, tmp)}, ${elapsed()}`),
      () => (checking = true),
    );
    return { bytes: statSync(target).size, ms: performance.now() - started };
  } catch (err) {
    removeScratch(tmp);
    throw err;
  } finally {
    line.done();
  }
}

function copyProgress(expectedBytes: number, tmp: string): string {
  const done = existsSync(tmp) ? statSync(tmp).size : 0;
  const pct = expectedBytes > 0 ? Math.min(99.9, (100 * done) / expectedBytes).toFixed(1) : "?";
  return `${megabytes(done)} of ${megabytes(expectedBytes)} MB (${pct}%)`;
}
