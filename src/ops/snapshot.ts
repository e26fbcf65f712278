// A consistent copy of a database in one file, written the safe way: VACUUM INTO a temporary file
// beside the target, fsync, integrity_check the copy, then rename it into place. A crash at any
// point leaves either the old target or the new one, never half of one. Used by `sluice backup` and
// by `sluice vacuum --full`.

import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { duration, megabytes } from "../runtime/format";
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
      () => {
        const done = existsSync(tmp) ? statSync(tmp).size : 0;
        const pct = o.expectedBytes > 0 ? Math.min(99.9, (100 * done) / o.expectedBytes).toFixed(1) : "?";
        line.message(`${o.label}: ${megabytes(done)} of ${megabytes(o.expectedBytes)} MB (${pct}%), ${duration((performance.now() - started) / 1000)}`);
      },
    );
    fsyncFile(tmp);
    const verdict = await runSqlInBackground({ dbPath: tmp, readonly: true, statements: [{ sql: "PRAGMA integrity_check" }] }, () =>
      line.message(`${o.label}: checking the copy's integrity, ${duration((performance.now() - started) / 1000)}`),
    );
    const problems = (verdict as Array<{ integrity_check: string }>).map((r) => r.integrity_check).filter((r) => r !== "ok");
    if (problems.length) throw new Error(`the copy failed integrity_check: ${problems.slice(0, 3).join("; ")}`);
    renameSync(tmp, target);
    fsyncFile(dirname(target));
    return { bytes: statSync(target).size, ms: performance.now() - started };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    line.done();
  }
}

/** fsync a file or a directory (a directory's fsync makes a rename in it durable). */
export function fsyncFile(path: string) {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
