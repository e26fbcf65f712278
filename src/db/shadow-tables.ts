// Writes to a virtual table's shadow tables, which Bun's connections forbid: it opens every one in
// SQLite's defensive mode. The native extension's sluice_defensive() (src/native/defensive.c)
// lifts it for the statements of one function. Used by a first index's bulk load to copy in the
// search index a worker thread built apart (archive/search-index-build.ts).

import type { Database } from "bun:sqlite";
import { extensionDirs, loadNativeExtension } from "../native/extension";

/** Connections that have sluice_defensive(). */
const lifting = new WeakSet<Database>();

/**
 * Loads sluice_defensive() into `db` (a file database's connection); returns why it cannot (this
 * build has no native extension: run from source, built without a C compiler, or not on Linux),
 * or null when it can.
 */
export function shadowWritesUnavailable(db: Database): string | null {
  if (lifting.has(db)) return null;
  try {
    loadNativeExtension(db, "sqlite3_defensive_init", extensionDirs(db.filename));
  } catch (err) {
    return (err as Error).message;
  }
  lifting.add(db);
  return null;
}

/** Runs `write` with defensive mode off on `db`, and turns it on again whatever `write` does. */
export function writingShadowTables<T>(db: Database, write: () => T): T {
  if (!lifting.has(db)) throw new Error("shadow tables written without sluice_defensive(): call shadowWritesUnavailable first");
  db.query("SELECT sluice_defensive(0)").get();
  try {
    return write();
  } finally {
    db.query("SELECT sluice_defensive(1)").get();
  }
}
