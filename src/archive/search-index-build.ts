// The search index of a first index's bulk load, built by a worker thread (search-index-worker.ts)
// while the index's thread writes the calls, tool uses and their indexes: on two cores the FTS5
// build (1.75 s of the 1 GB corpus's 4 s single-threaded last stretch) no longer comes after the
// rest. The worker copies the texts out before the final transaction writes anything, and builds a
// contentless FTS5 table of them in a file beside the database; after the final transaction, which
// leaves the search index marked pending, a transaction of its own copies that table's segments
// into messages_fts and clears the mark (docs/archive.md, "The search index of a first index").
//
// Anything unexpected (no native extension to lift defensive mode with, a worker that does not
// start or fails, a table FTS5 lays out otherwise) leaves the search index to FTS5's own 'rebuild'
// in that transaction, as before.

import type { Database } from "bun:sqlite";
import { closeSync, openSync, rmSync } from "node:fs";
import { shadowWritesUnavailable, writingShadowTables } from "../db/shadow-tables";
import { workerPath } from "../runtime/paths";
import { log } from "../runtime/log";

/** Where the worker is; each step is stored in a shared Int32Array, so the writer can block on it. */
export const BuildState = { waiting: 0, reading: 1, read: 2, built: 3, failed: 4 } as const;

export interface SearchIndexJob {
  /** The database's path: the worker reads the messages from it, once. */
  database: string;
  /** The build's own file (searchBuildFile). */
  file: string;
  /** CREATE VIRTUAL TABLE search USING fts5(...), with the messages_fts table's tokenizer and options. */
  definition: string;
  /** One Int32: a BuildState. */
  state: SharedArrayBuffer;
  /** The failure's message, UTF-8, zero-padded. */
  error: SharedArrayBuffer;
}

/**
 * Terms FTS5 holds in memory before it writes a segment: 64 MiB instead of its 1 MiB makes a
 * few large segments instead of thousands of small ones merged again and again (3.2 -> 2.6 s
 * for the 180 MB of text of the 1 GB corpus).
 */
export const BULK_HASH_BYTES = 64 * 1024 * 1024;
/** FTS5's own hashsize, set back after a rebuild: the live follower writes under a memory budget. */
export const DEFAULT_HASH_BYTES = 1024 * 1024;

/** Sets FTS5's `hashsize` of `table` (kept in its config table, so it lasts beyond this connection). */
export function setHashBytes(db: Database, table: string, bytes: number) {
  db.run(`INSERT INTO ${table} (${table}, rank) VALUES ('hashsize', ${bytes})`);
}

/** A worker thread starts in tens of milliseconds; one that has not in this long never will. */
const START_TIMEOUT_MS = 15_000;

/** The build's file: beside the database (the same disk, never a small /tmp), mode 0600, as it holds every message's text until removed. */
export const searchBuildFile = (database: string) => `${database}-search-build`;

/** The build file of the database `db` has open; null for a database in memory. */
const buildFileOf = (db: Database): string | null => (db.filename && db.filename !== ":memory:" ? searchBuildFile(db.filename) : null);

/** Removes the build file a killed run left (it holds every message's text): at each index run, under the writer claim. */
export function removeLeftSearchBuild(db: Database) {
  const file = buildFileOf(db);
  if (file) rmSync(file, { force: true });
}

/** The schema name the writer attaches the build's file under. */
const ATTACHED = "search_build";

/** The three tables of an FTS5 index that hold its content: copied from the build whole. */
const SHADOWS = ["data", "idx", "docsize"] as const;

export class SearchIndexBuild {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private readonly error = new SharedArrayBuffer(512);
  private worker: Worker | null = null;
  private attached = false;

  private constructor(private readonly file: string) {}

  /**
   * Starts the worker, or returns null when the copy could not be made: a database in memory, a
   * search table not declared as expected, or no native extension to lift defensive mode with.
   */
  static start(db: Database): SearchIndexBuild | null {
    const definition = contentlessDefinition(db), file = buildFileOf(db);
    if (!definition || !file) return null;
    const unavailable = shadowWritesUnavailable(db);
    if (unavailable) {
      rebuiltInstead(unavailable);
      return null;
    }
    const build = new SearchIndexBuild(file);
    rmSync(build.file, { force: true });
    closeSync(openSync(build.file, "wx", 0o600));
    build.worker = new Worker(workerPath("archive/search-index-worker.ts"));
    build.worker.postMessage({ database: db.filename, file: build.file, definition, state: build.state.buffer as SharedArrayBuffer, error: build.error } satisfies SearchIndexJob);
    return build;
  }

  /** Blocks until the worker has read the messages (the writer may then write), or failed: false. */
  waitRead(): boolean {
    return this.waitPast(BuildState.reading);
  }

  /**
   * Blocks until the index is built, and attaches its file to the writer's connection, outside any
   * transaction: attached while the worker still wrote it, the writer's BEGIN IMMEDIATE would lock
   * it too. False when the build failed.
   */
  attachWhenBuilt(db: Database): boolean {
    if (!this.waitPast(BuildState.read)) return false;
    db.run(`ATTACH DATABASE ? AS ${ATTACHED}`, [this.file]);
    this.attached = true;
    return true;
  }

  /**
   * In a transaction, after attachWhenBuilt: copies the build's segments into messages_fts,
   * replacing whatever it held. False when it could not (the caller rebuilds).
   */
  copyInto(db: Database): boolean {
    if (!this.attached) return false;
    const columns = (table: string, schema: string) => (db.query("SELECT group_concat(name) AS c FROM pragma_table_info(?1, ?2)").get(table, schema) as { c: string | null }).c;
    const version = (table: string) => (db.query(`SELECT v FROM ${table} WHERE k = 'version'`).get() as { v: number } | null)?.v;
    for (const s of SHADOWS) {
      const have = columns(`messages_fts_${s}`, "main");
      if (!have || have !== columns(`search_${s}`, ATTACHED)) return rebuiltInstead(`its ${s} table has columns (${have}) other than the build's`);
    }
    if (version("main.messages_fts_config") !== version(`${ATTACHED}.search_config`)) return rebuiltInstead("its FTS5 format version differs from the build's");
    // Bun opens connections in defensive mode, which forbids writing shadow tables: lifted for
    // these six statements of this transaction only
    writingShadowTables(db, () => {
      for (const s of SHADOWS) {
        db.run(`DELETE FROM main.messages_fts_${s}`);
        db.run(`INSERT INTO main.messages_fts_${s} SELECT * FROM ${ATTACHED}.search_${s}`);
      }
    });
    log.debug("the search index was built by a worker thread beside the final transaction, and copied in");
    return true;
  }

  /** Detaches the file: after the final transaction, whatever its end, before the journal mode goes back. */
  detach(db: Database) {
    if (this.attached) db.run(`DETACH DATABASE ${ATTACHED}`);
    this.attached = false;
  }

  /** Stops the worker and removes the file. */
  dispose() {
    this.worker?.terminate();
    this.worker = null;
    rmSync(this.file, { force: true });
  }

  /** Blocks while the worker is at `step` or before it; false when it failed or never started. */
  private waitPast(step: number): boolean {
    const startBy = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const now = Atomics.load(this.state, 0);
      if (now === BuildState.failed) return rebuiltInstead(`the worker failed: ${new TextDecoder().decode(this.error).replace(/\0+$/, "")}`);
      if (now > step) return true;
      if (now === BuildState.waiting && Date.now() > startBy) return rebuiltInstead("its worker thread did not start");
      Atomics.wait(this.state, 0, now, 1000);
    }
  }

}

/** Says (debug) why the search index is rebuilt by FTS5 instead of copied from a build made apart. */
function rebuiltInstead(why: string): false {
  log.debug(`the search index is rebuilt instead of copied from a build made apart: ${why}`);
  return false;
}

/**
 * The messages_fts table's definition as a contentless table named `search`: the same columns,
 * tokenizer and options, so that its segments are the ones messages_fts would hold. Null when the
 * table is not declared as this version of sluice declares it.
 */
function contentlessDefinition(db: Database): string | null {
  const row = db.query("SELECT sql FROM sqlite_schema WHERE name = 'messages_fts' AND type = 'table'").get() as { sql: string } | null;
  const m = row?.sql.match(/^CREATE VIRTUAL TABLE\s+"?messages_fts"?\s+USING\s+fts5\s*\((.*)\)\s*$/is);
  if (!m) return null;
  const content = /\bcontent\s*=\s*'messages'/i, rowid = /,\s*content_rowid\s*=\s*'id'/i;
  if (!content.test(m[1]!) || !rowid.test(m[1]!)) return null;
  return `CREATE VIRTUAL TABLE search USING fts5(${m[1]!.replace(content, "content = ''").replace(rowid, "")})`;
}
