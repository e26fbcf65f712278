// A consistent copy of a database in one file, written the safe way: VACUUM INTO a temporary file
// beside the target, integrity_check the copy, fsync, then rename it into place. A crash at any
// point leaves either the old target or the new one, never half of one. Used by `sluice backup` and,
// with `replace` (the copy put in place of the database itself, under one exclusive lock), by
// `sluice vacuum --full`. The work runs in the SQL worker (ops/sql-worker.ts). A stop signal
// (`stop`) gives it up: the temporary file is removed and SnapshotInterrupted thrown.

import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { removeScratch } from "../runtime/files";
import { duration, megabytes } from "../runtime/format";
import { ProgressLine } from "../runtime/progress-line";
import type { StopRequest, StopSignal } from "../runtime/signals";
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
  /** A stop signal gives the snapshot up (SnapshotInterrupted). */
  stop?: StopRequest;
  /** With `replace`: the file ("dev:ino") the caller's claims are in; the rebuild checks it is still at the path once it holds it. */
  file?: string | null;
}

/** The snapshot was given up for a stop signal; the temporary file is gone and the target untouched. */
export class SnapshotInterrupted extends Error {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
  }
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
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  try {
    const work = runSnapshotInBackground(
      { dbPath, tmp, target, replace: !!o.replace, incrementalAutoVacuum: !!o.incrementalAutoVacuum, cancel, file: o.file },
      () => line.message(checking ? `${o.label}: checking the copy's integrity, ${elapsed()}` : `${o.label}: ${copyProgress(o.expectedBytes, tmp)}, ${elapsed()}`),
      () => (checking = true),
    );
    // A snapshot that was done when the signal came stands: its caller finishes as usual.
    const first = await Promise.race([work.then(() => "done" as const), o.stop ? o.stop.whenStopped().then(() => "stop" as const) : new Promise<never>(() => {})]);
    if (first === "stop" && o.stop?.stopped) await giveUp(work, cancel, !!o.replace, o.stop.signal!);
    return { bytes: statSync(target).size, ms: performance.now() - started };
  } catch (err) {
    removeScratch(tmp);
    throw err;
  } finally {
    line.done();
  }
}

/**
 * After a stop signal: tells the worker to give up at its next step. A copy that replaces the
 * database waits for that, since the worker holds the database exclusively until it lets go (and
 * if the copy was already in place, the rebuild is done and stands). A backup only reads: its
 * worker is left to the end of the process, and the removed temporary file can no longer be renamed.
 */
async function giveUp(work: Promise<void>, cancel: Int32Array, replace: boolean, signal: StopSignal): Promise<void> {
  Atomics.store(cancel, 0, 1);
  if (!replace) {
    work.catch(() => {});
    throw new SnapshotInterrupted(signal);
  }
  try {
    await work;
  } catch {
    throw new SnapshotInterrupted(signal);
  }
}

function copyProgress(expectedBytes: number, tmp: string): string {
  const done = existsSync(tmp) ? statSync(tmp).size : 0;
  const pct = expectedBytes > 0 ? Math.min(99.9, (100 * done) / expectedBytes).toFixed(1) : "?";
  return `${megabytes(done)} of ${megabytes(expectedBytes)} MB (${pct}%)`;
}
