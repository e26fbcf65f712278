// Connection settings for each way sluice writes. Chosen by measurement: see README, "Settings".

import type { Database } from "bun:sqlite";

/**
 * Appending rows to tables without indexes touches only the rightmost pages of each b-tree, and a
 * small cache that stays hot in the CPU's caches ran 1.7x faster than a 1 GiB one (README,
 * "Settings"). The large cache (--cache-mb) is for work that reads widely: index builds, and
 * appends to tables that already have indexes.
 */
export const APPEND_CACHE_MB = 16;

export function setCacheMb(db: Database, mb: number) {
  db.run(`PRAGMA cache_size = ${-Math.max(2, Math.floor(mb)) * 1024}`);
}

/**
 * Backfill of the main database: no fsync, and a rollback journal. The journal costs next to
 * nothing here because appended pages are new pages, which are never journaled; it is what keeps
 * the database intact when the process is killed mid-commit (journal_mode=OFF would not).
 */
export function useBackfillSettings(db: Database, cacheMb: number) {
  db.run("PRAGMA journal_mode = PERSIST");
  db.run("PRAGMA synchronous = OFF");
  setCacheMb(db, cacheMb);
  db.run("PRAGMA temp_store = MEMORY");
  // Lets CREATE INDEX sort on both cores.
  db.run(`PRAGMA threads = ${Math.max(1, navigator.hardwareConcurrency - 1)}`);
}

/** A part database written by one worker of a parallel backfill: disposable, so nothing is journaled. */
export function usePartSettings(db: Database) {
  db.run("PRAGMA journal_mode = OFF");
  db.run("PRAGMA synchronous = OFF");
  db.run("PRAGMA locking_mode = EXCLUSIVE");
  setCacheMb(db, APPEND_CACHE_MB);
}
