// `sluice vacuum`: gives free pages back to the file system.
//
// New databases use auto_vacuum=INCREMENTAL, so the plain command is cheap: it moves free pages to
// the end of the file and truncates it, a few thousand pages per transaction, so a live ingester
// keeps committing in between. `--full` rebuilds the whole file through a checked snapshot that is
// renamed over the database (crash-safe, with progress, and needing free space for one copy rather
// than SQLite's two); it also converts a database made without auto_vacuum, and only it does.
// SIGINT or SIGTERM during the rebuild gives it up: the copy is removed, the database keeps its
// content and journal mode and is released, one line says so, and the process ends by the signal.

import type { Database } from "bun:sqlite";
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE, wrapError } from "../runtime/errors";
import { megabytes } from "../runtime/format";
import { claimIngester, ingesterRunning, openedFile, readIngester, releaseIngester, releaseWriter, tryClaimWriter, whenUnlocked } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { enterWal, leaveWal } from "../db/settings";
import { fileBytes, livePageBytes, pageInfo, type PageInfo } from "./db-info";
import { SnapshotInterrupted, writeSnapshot } from "./snapshot";
import { removeScratch } from "../runtime/files";
import { exitBySignal, StopRequest } from "../runtime/signals";

export interface VacuumResult {
  db: string;
  mode: "incremental" | "full";
  bytesBefore: number;
  bytesAfter: number;
  freePagesBefore: number;
  autoVacuumBefore: PageInfo["autoVacuum"];
  autoVacuumAfter: PageInfo["autoVacuum"];
  ms: number;
  /** What the user may want to do next, if anything. */
  advice: string | null;
}

/** Pages moved and truncated per transaction: small enough that a live ingester's commits wait only milliseconds. */
const PAGES_PER_STEP = 2048;

export async function vacuumDatabase(dbPath: string, o: { full: boolean; progress: boolean }): Promise<VacuumResult> {
  return o.full ? vacuumFull(dbPath, o.progress) : vacuumIncremental(dbPath);
}

function vacuumIncremental(dbPath: string): VacuumResult {
  const started = performance.now();
  const db = openDatabase(dbPath);
  // Each step looks at the path first (whenUnlocked): a `vacuum --full` may replace the file between two.
  const step = <T>(work: () => T) => whenUnlocked(db, dbPath, () => db.transaction(work)());
  try {
    const before = step(() => pageInfo(db));
    const bytesBefore = fileBytes(dbPath);
    let advice: string | null = null;
    if (before.autoVacuum === "incremental") {
      for (let free = before.freePages; free > 0; ) {
        const left = step(() => (db.run(`PRAGMA incremental_vacuum(${PAGES_PER_STEP})`), pageInfo(db).freePages));
        if (left >= free) break;
        free = left;
      }
    } else if (before.freePages > 0) {
      advice = `this database was made without auto_vacuum, so its ${megabytes(before.freePages * before.pageSize, 1)} MB of free pages can only be reclaimed by a rebuild: run 'sluice vacuum --full' (stop the ingester first)`;
    }
    const after = step(() => pageInfo(db));
    return {
      db: dbPath, mode: "incremental", bytesBefore, bytesAfter: fileBytes(dbPath), freePagesBefore: before.freePages,
      autoVacuumBefore: before.autoVacuum, autoVacuumAfter: after.autoVacuum, ms: Math.round(performance.now() - started), advice,
    };
  } finally {
    db.close();
  }
}

/**
 * Rebuilds the database into a new file and puts it in place of the old one. Nothing else may
 * write meanwhile: the capture refuses to start while the ingester row says maintenance, an index
 * run waits while the 'all' claim stands, and from the copy to the rename the SQL worker holds the
 * file exclusively. A connection that still has the old file open finds it marked replaced.
 */
async function vacuumFull(dbPath: string, progress: boolean): Promise<VacuumResult> {
  const stop = new StopRequest();
  try {
    return await rebuild(dbPath, progress, stop);
  } finally {
    stop.dispose();
  }
}

async function rebuild(dbPath: string, progress: boolean, stop: StopRequest): Promise<VacuumResult> {
  const started = performance.now();
  const db = openDatabase(dbPath);
  let before: PageInfo, needed: number, claim: number | null = null;
  const bytesBefore = fileBytes(dbPath);
  try {
    // The claim first: it is taken only on the file at the path, and no other rebuild can replace
    // that file while it stands, so every read after it is of the database itself.
    const claimed = tryClaimWriter(db, dbPath, "all", "vacuum --full");
    if ("holder" in claimed) throw new SluiceError(`the database is being written by ${claimed.holder}; run 'sluice vacuum --full' again when it is done (stop an 'index --follow' service first)`, EXIT_USAGE);
    claim = claimed.id;
    const ing = readIngester(db);
    if (ing && ing.pid !== process.pid && ingesterRunning(ing)) {
      throw new SluiceError(`the database is in use by sluice PID ${ing.pid} (${ing.mode} of ${ing.input}); stop it (e.g. 'systemctl --user stop sluice') and run 'sluice vacuum --full' again`, EXIT_USAGE);
    }
    before = pageInfo(db);
    needed = livePageBytes(db);
    const fs = statfsSync(dirname(dbPath));
    const free = fs.bavail * fs.bsize;
    // the copy, plus room for the WAL and journal of whatever else writes to this file system
    if (free < needed * 1.05 + (64 << 20)) {
      throw new SluiceError(`vacuum --full needs about ${megabytes(needed)} MB free in ${dirname(dbPath)} for the rebuilt copy, and there are ${megabytes(free)} MB; free some space and run it again`, EXIT_FAILURE);
    }
    // Holding the ingester row keeps an ingester from starting on the file that is about to be replaced.
    claimIngester(db, dbPath, "maintenance", "vacuum --full");
    // Leaving WAL mode folds the WAL in and needs the only connection: a reader still open says so here.
    if (!leaveWal(db)) throw new SluiceError(`another connection has ${dbPath} open; close it (a sqlite3 shell, a running report) and run 'sluice vacuum --full' again`, EXIT_FAILURE);
  } catch (err) {
    if (claim !== null) releaseAll(db, claim);
    db.close();
    throw err;
  }
  // A second signal while the worker finishes its step: the copy goes, the claims stay to be taken over.
  stop.lastResort = () => removeScratch(`${dbPath}.tmp-${process.pid}`);
  try {
    await writeSnapshot(dbPath, dbPath, { expectedBytes: needed, progress, replace: true, incrementalAutoVacuum: true, label: "vacuum --full", stop, file: openedFile(db) });
  } catch (err) {
    releaseAfterFailure(db, dbPath, claim!, before.journalMode);
    if (err instanceof SnapshotInterrupted) {
      exitBySignal(err.signal, `interrupted: vacuum --full stopped before replacing ${dbPath}, whose content is unchanged (the partial copy is removed); run the same command to rebuild it`);
    }
    if (/database is locked/.test((err as Error).message)) {
      throw new SluiceError(`another connection began using ${dbPath} before vacuum --full could hold it (an index run or a reader started meanwhile); the database is unchanged: run 'sluice vacuum --full' again`, EXIT_FAILURE);
    }
    throw wrapError(`vacuum --full of ${dbPath} failed; the database is unchanged`, err);
  }
  db.close(); // the connection is on the replaced file now
  const fresh = openDatabase(dbPath);
  try {
    releaseAll(fresh, claim!);
    const after = pageInfo(fresh);
    return {
      db: dbPath, mode: "full", bytesBefore, bytesAfter: fileBytes(dbPath), freePagesBefore: before.freePages,
      autoVacuumBefore: before.autoVacuum, autoVacuumAfter: after.autoVacuum, ms: Math.round(performance.now() - started), advice: null,
    };
  } finally {
    fresh.close();
  }
}

/**
 * Gives up the hold after a failed or interrupted rebuild, closing `db`, and puts back the journal
 * mode the rebuild left (WAL, most often). The database is unchanged, but another connection may
 * have switched it to WAL meanwhile, which this one cannot always follow: then a fresh connection
 * releases it.
 */
function releaseAfterFailure(db: Database, dbPath: string, claim: number, journalMode: string) {
  let conn = db;
  try {
    releaseAll(db, claim);
  } catch {
    db.close();
    conn = openDatabase(dbPath);
    releaseAll(conn, claim);
  } finally {
    if (journalMode === "wal") restoreWal(conn);
    conn.close();
  }
}

/** Back to WAL; a reader in the way keeps rollback mode, which the next writer changes anyway. */
function restoreWal(db: Database) {
  try {
    enterWal(db);
  } catch {}
}

/** Gives up the maintenance hold: the ingester row and the 'all' claim. */
function releaseAll(db: Database, claim: number) {
  releaseIngester(db);
  releaseWriter(db, claim);
}
