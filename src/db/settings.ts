// Connection settings for each way sluice writes. Chosen by measurement: see docs/design.md, "Settings".

import type { Database } from "bun:sqlite";
import { log } from "../runtime/log";

/**
 * Bulk work (appending to tables without indexes, building indexes) ran fastest with a small cache:
 * appends touch only the rightmost pages of each b-tree, and CREATE INDEX sorts in cache-sized runs
 * that stay hot in the CPU's caches. Measured on 3M lines: appends 1.7x faster with 16 MiB than
 * with 1 GiB, index builds 1.6x faster and 13x less memory (docs/design.md, "Settings"). The large cache
 * (--cache-mb) is for appends into tables that already have indexes, which update them at random.
 */
export const BULK_CACHE_MB = 16;

export function setCacheMb(db: Database, mb: number) {
  db.run(`PRAGMA cache_size = ${-Math.max(2, Math.floor(mb)) * 1024}`);
}

/**
 * Backfill of the main database: no fsync, and a rollback journal. The journal costs next to
 * nothing here because appended pages are new pages, which are never journaled; it is what keeps
 * the database intact when the process is killed mid-commit (journal_mode=OFF would not).
 */
export function useBackfillSettings(db: Database, cacheMb: number) {
  try {
    db.run("PRAGMA journal_mode = PERSIST");
  } catch (err) {
    // Leaving WAL needs the only connection. A restart with a reader attached (the sqlite3 CLI, a
    // health probe) would otherwise fail: the backfill stays in WAL instead, which is as safe.
    if (!String((err as { code?: string }).code).startsWith("SQLITE_BUSY")) throw err;
  }
  db.run("PRAGMA synchronous = OFF");
  setCacheMb(db, cacheMb);
}

/** A part database written by one worker of a parallel backfill: disposable, so nothing is journaled. */
export function usePartSettings(db: Database) {
  db.run("PRAGMA journal_mode = OFF");
  db.run("PRAGMA synchronous = OFF");
  db.run("PRAGMA locking_mode = EXCLUSIVE");
  setCacheMb(db, BULK_CACHE_MB);
}

/**
 * A checkpoint per 4000 WAL pages (32 MiB at 8 KiB pages): each ends in an fsync, so not too
 * often; the WAL stays bounded by it.
 */
export const WAL_CHECKPOINT_PAGES = 4000;

/**
 * The live tail: WAL so readers (the sqlite3 CLI, `sluice status`) query while it writes,
 * synchronous=NORMAL (durable at each checkpoint, never corrupt), a small cache to stay inside the
 * memory budget, no mmap (mapped pages would count against RSS), and regular checkpoints so the
 * WAL stays bounded.
 */
export function useLiveSettings(db: Database, cacheMb: number) {
  enterWal(db);
  db.run("PRAGMA synchronous = NORMAL");
  setCacheMb(db, cacheMb);
  db.run("PRAGMA mmap_size = 0");
  // The fallback: checkpointInBackground (background-checkpoints.ts) moves them off the writer.
  db.run(`PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  // After a reader held the WAL back and it grew, it is cut back to this when it next starts over,
  // not only at the next quiet period.
  db.run("PRAGMA journal_size_limit = 67108864");
}

/** busy_timeout of every connection sluice opens: long enough that a reader never sees SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** SQLITE_BUSY or one of its extended codes. */
export const isBusy = (err: unknown) => String((err as { code?: unknown })?.code ?? "").startsWith("SQLITE_BUSY");

/**
 * Runs `work` (a transaction, or a statement) again while it fails with SQLITE_BUSY, up to the busy
 * timeout, with SQLite's own busy handler off meanwhile; `before` runs before each attempt and may
 * throw. For what SQLite does not wait for by itself (a switch to WAL gives up at once if another
 * connection holds the write lock at that instant: seen as "stayed locked for 5 s" when two index
 * runs met on a database left in rollback-journal mode by a killed one), and for waits that must
 * look at something between two attempts (whenUnlocked in writer-lock.ts). Throws the last
 * SQLITE_BUSY.
 */
export function untilUnlocked<T>(db: Database, work: () => T, before: () => void = () => {}): T {
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  db.run("PRAGMA busy_timeout = 0");
  try {
    for (let pause = 1; ; pause = Math.min(2 * pause, 50)) {
      before();
      try {
        return work();
      } catch (err) {
        if (!isBusy(err) || performance.now() >= deadline) throw err;
      }
      Bun.sleepSync(pause);
    }
  } finally {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/** Puts the database in WAL mode, waiting (untilUnlocked) for another writer's lock of the moment to go. */
export function enterWal(db: Database) {
  untilUnlocked(db, () => db.run("PRAGMA journal_mode = WAL"));
}

/**
 * Folds the WAL back into the database and truncates it to zero bytes, without waiting: a TRUNCATE
 * checkpoint waits for every reader to let go of its snapshot, which a long query or a backup can
 * hold for minutes, and the tail must not stall behind it (nor a shutdown overrun its 2 s). When a
 * reader is in the way it copies what it can and returns; the next quiet period tries again.
 * Returns true when the WAL was emptied.
 */
export function checkpointTruncate(db: Database): boolean {
  db.run("PRAGMA busy_timeout = 0");
  try {
    const r = db.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number } | null;
    return !r || r.busy === 0;
  } finally {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/**
 * A database already in WAL: its commits are not synced one by one (durable at the next
 * checkpoint; a crash loses at most the last commits, which the next run reads again, never
 * the database). For the status line's claim and release. Not for `sluice index`'s claim: the
 * journal mode's read takes a lock before the claim has looked whether `vacuum --full` replaced
 * the file (writer-lock.ts, whenUnlocked), and a follower stopped in that race exited 1 in the
 * model test. A database in a rollback journal (a `vacuum --full` under way) keeps its setting.
 */
export function unsyncedCommitsInWal(db: Database) {
  if ((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode === "wal") db.run("PRAGMA synchronous = NORMAL");
}

/**
 * `sluice index`: WAL and synchronous=NORMAL like the live tail, so the indexer and a running
 * ingester share the database, with a cache large enough that the turn and invocation indexes
 * stay in memory through a full index.
 */
export const INDEX_CACHE_MB = 64;

export function useIndexSettings(db: Database, cacheMb = INDEX_CACHE_MB) {
  enterWal(db);
  db.run("PRAGMA synchronous = NORMAL");
  setCacheMb(db, cacheMb);
}

/**
 * Runs `write` (one big transaction that mostly appends) with a rollback journal, when no other
 * connection has the database open, and goes back to WAL after. Pages appended past the end of
 * the file are never journaled, so they are written once, into the database; in WAL they are
 * written to the log and copied again by the checkpoint, each copy with its fsync (a first
 * index's commit: 111-126 ms against 266-305 ms; docs/design.md, "The bulk write skips the WAL").
 * `synchronous = FULL` while the journal is in use: NORMAL is not proof against power loss in that
 * mode. Another connection open (an ingester, a report) keeps WAL, and the write runs as before.
 * A reader that opens the database meanwhile holds up the commit, as in any rollback-journal
 * database, for as long as it reads (up to the busy timeout).
 */
export function withRollbackJournal<T>(db: Database, write: () => T): T {
  const back = rollbackJournalForBulk(db);
  try {
    return write();
  } finally {
    back();
  }
}

/**
 * withRollbackJournal's switch on its own, for a bulk run that commits more than once (a first
 * index with the archive commits its pieces and messages in batches before its final transaction):
 * leaves WAL when no other connection has the database open, and returns what goes back to WAL.
 * Outside any transaction.
 */
export function rollbackJournalForBulk(db: Database): () => void {
  const mode = (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  const synchronous = (db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
  if (mode !== "wal" || !leaveWal(db, false)) return () => {};
  db.run("PRAGMA synchronous = FULL");
  return () => {
    db.run(`PRAGMA synchronous = ${synchronous}`);
    try {
      enterWal(db);
    } catch (err) {
      // A reader that came in meanwhile holds its lock. Nothing is lost, and the writers set WAL
      // again when they open the database.
      log.warn(`the database stays in rollback-journal mode until the next 'sluice index' or 'sluice ingest' opens it (${(err as Error).message})`);
    }
  };
}

/**
 * Leaves WAL for a rollback journal, folding the WAL into the database. That needs the only
 * connection: false when another one has the database open (SQLite says "database is locked",
 * or keeps "wal").
 */
export function leaveWal(db: Database, wait = true): boolean {
  // without `wait`, at once: a bulk load beside a reader writes through the WAL instead
  const timeout = (db.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout;
  if (!wait) db.run("PRAGMA busy_timeout = 0");
  try {
    return (db.query("PRAGMA journal_mode = DELETE").get() as { journal_mode: string }).journal_mode === "delete";
  } catch (err) {
    if (isBusy(err)) return false;
    throw err;
  } finally {
    if (!wait) db.run(`PRAGMA busy_timeout = ${timeout}`);
  }
}
