// `sluice backup`: a consistent snapshot of the database, taken while the ingester writes.
//
// In live mode (WAL) the snapshot is a read transaction: the ingester is never blocked; the WAL
// only grows by what is ingested meanwhile, because checkpoints cannot pass a reader, and is
// truncated at the tail's next quiet period. A backfill writes through a rollback journal, which a
// long reader would stall, so a backup waits for the hand-over instead (it says so and stops).
// SIGINT or SIGTERM gives the copy up: the temporary file is removed, the target and the database
// are untouched, one line says so, and the process ends by the signal.

import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SluiceError, EXIT_USAGE, wrapError } from "../runtime/errors";
import { ingesterRunning, readIngester } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { BUSY_TIMEOUT_MS, checkpointTruncate } from "../db/settings";
import { livePageBytes } from "./db-info";
import { SnapshotInterrupted, writeSnapshot } from "./snapshot";
import { exitBySignal, StopRequest } from "../runtime/signals";

export interface BackupResult {
  db: string;
  target: string;
  bytes: number;
  ms: number;
  /** Whether the WAL was folded into the database before the copy (it cannot be while a reader holds it). */
  checkpointed: boolean;
}

export async function backupDatabase(dbPath: string, target: string, o: { force: boolean; progress: boolean }): Promise<BackupResult> {
  // From the start: a signal before the copy begins gives it up before it begins.
  const stop = new StopRequest();
  try {
    return await backup(dbPath, resolve(target), o, stop);
  } finally {
    stop.dispose();
  }
}

async function backup(dbPath: string, target: string, o: { force: boolean; progress: boolean }, stop: StopRequest): Promise<BackupResult> {
  if (target === resolve(dbPath)) throw new SluiceError(`the backup target ${target} is the database itself; name another file`, EXIT_USAGE);
  if (existsSync(target) && !o.force) throw new SluiceError(`${target} already exists; pass --force to replace it, or name another file`, EXIT_USAGE);

  const db = openDatabase(dbPath, { readonly: true });
  let expectedBytes: number, journal: string;
  try {
    const ing = readIngester(db);
    if (ing && ingesterRunning(ing) && ing.mode === "backfill") {
      throw new SluiceError(
        `the ingester (PID ${ing.pid}) is backfilling ${ing.input}, and a backup now would stall it; run the backup once it has handed over to live mode (see 'sluice status')`,
        EXIT_USAGE,
      );
    }
    expectedBytes = livePageBytes(db);
    journal = (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  } finally {
    db.close();
  }

  let checkpointed = journal !== "wal";
  if (!checkpointed) {
    try {
      const rw = new Database(dbPath, { readwrite: true, create: false });
      rw.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      checkpointed = checkpointTruncate(rw);
      rw.close();
    } catch {
      // A read-only database still backs up; the copy then includes the WAL's pages itself.
    }
  }

  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  try {
    const r = await writeSnapshot(dbPath, target, { expectedBytes, progress: o.progress, label: "backup", stop });
    return { db: dbPath, target, bytes: r.bytes, ms: Math.round(r.ms), checkpointed };
  } catch (err) {
    if (err instanceof SnapshotInterrupted) {
      exitBySignal(err.signal, `interrupted: the backup to ${target} was not written (its temporary file is removed${existsSync(target) ? "; the existing target is unchanged" : ""}); the database is untouched, run the same command to back it up`);
    }
    throw wrapError(`backup of ${dbPath} to ${target} failed (the target was not touched); check free space in ${dirname(target)}`, err);
  }
}
