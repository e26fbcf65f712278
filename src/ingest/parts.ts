// Part databases of a parallel backfill. Each worker ingests one byte range of the file into a
// part of its own; the main database then takes each part whole, in file order, in one transaction
// that also moves the committed offset to the part's end. A part is scratch: it is deleted after
// its merge, and a part left by a crash is simply deleted and redone.

import { Database } from "bun:sqlite";
import { closeSync, openSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { usePartSettings } from "../db/settings";
import { ADVANCE_SOURCE_SQL } from "./sources";

const PART_MMAP_BYTES = 1 << 30;

const PART_TABLES = ["sse_rows", "sse_raw", "sse_decoded", "rejects"];

/** The main database's DDL for the tables a part holds, so that both have identical definitions. */
export function partTableDdl(main: Database): string[] {
  return PART_TABLES.map((name) => (main.query("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) as { sql: string }).sql);
}

export function partPath(dbPath: string, index: number): string {
  return `${dbPath}.part${index}`;
}

export function removePart(path: string) {
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}

/** Deletes the parts a killed backfill left behind; their chunks are redone from the committed offset. */
export function removeStaleParts(dbPath: string): number {
  const prefix = `${basename(dbPath)}.part`;
  let n = 0;
  for (const name of readdirSync(dirname(dbPath))) {
    if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) {
      removePart(join(dirname(dbPath), name));
      n++;
    }
  }
  return n;
}

export function createPartDatabase(path: string, ddl: string[], pageSize: number): Database {
  removePart(path);
  closeSync(openSync(path, "wx", 0o600)); // parts hold prompts too
  const db = new Database(path, { readwrite: true, create: false });
  db.run(`PRAGMA page_size = ${pageSize | 0}`);
  usePartSettings(db);
  for (const sql of ddl) db.run(sql);
  return db;
}

/**
 * Moves a part's rows into the main database and sets the source's committed offset to `endOffset`
 * (and its tail fingerprint to `tail`), all in one transaction. `INSERT INTO t SELECT * FROM part.t` between identical tables is SQLite's
 * transfer optimization: records are copied without being decoded.
 */
export function mergePart(main: Database, path: string, sourceId: number, endOffset: number, tail: string): { rows: number; rejects: number } {
  main.run("ATTACH DATABASE ? AS part", [path]);
  // Read the part through mmap: one page fault per 4 KiB instead of one pread syscall per page.
  main.run(`PRAGMA part.mmap_size = ${PART_MMAP_BYTES}`);
  try {
    return main.transaction(() => {
      const rows = main.run("INSERT INTO main.sse_rows SELECT * FROM part.sse_rows").changes;
      main.run("INSERT INTO main.sse_raw SELECT * FROM part.sse_raw");
      main.run("INSERT INTO main.sse_decoded SELECT * FROM part.sse_decoded");
      const rejects = main.run(
        "INSERT INTO main.rejects (file_id, byte_offset, length, reason, head) SELECT file_id, byte_offset, length, reason, head FROM part.rejects ORDER BY id",
      ).changes;
      main.run(ADVANCE_SOURCE_SQL, [endOffset, rows, rejects, new Date().toISOString(), sourceId, tail]);
      return { rows, rejects };
    }).immediate();
  } finally {
    main.run("DETACH DATABASE part");
  }
}
