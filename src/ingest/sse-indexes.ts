// The indexes on sse rows come from a short allowlist. They are built after a backfill, never
// maintained row by row during one, and never on the raw line.

import type { Database } from "bun:sqlite";

export const SSE_INDEXES: ReadonlyArray<{ name: string; column: string }> = [
  { name: "idx_sse_flow_id", column: "flow_id" },
  { name: "idx_sse_sid", column: "sid" },
  { name: "idx_sse_t", column: "t" },
  { name: "idx_sse_meta_pid", column: "meta_pid" },
  { name: "idx_sse_meta_cwd", column: "meta_cwd" },
  { name: "idx_sse_round", column: "round" },
  { name: "idx_sse_meta_turn_id", column: "meta_turn_id" },
];

function existing(db: Database): string[] {
  return (db.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'idx\\_sse\\_%' ESCAPE '\\'").all() as { name: string }[]).map((r) => r.name);
}

/** Drops every idx_sse_* index that is not on the allowlist; returns the names dropped. */
export function dropForeignIndexes(db: Database): string[] {
  const allowed = new Set(SSE_INDEXES.map((i) => i.name));
  const foreign = existing(db).filter((n) => !allowed.has(n));
  for (const name of foreign) db.run(`DROP INDEX "${name.replace(/"/g, '""')}"`);
  return foreign;
}

/** Drops the allowlisted indexes before a bulk load, so rows are appended without index upkeep. */
export function dropAllowlistedIndexes(db: Database): void {
  for (const { name } of SSE_INDEXES) db.run(`DROP INDEX IF EXISTS ${name}`);
}

/** Creates the allowlisted indexes that are missing; returns how many were built. */
export function createIndexes(db: Database): number {
  const missing = missingIndexes(db);
  for (const name of missing) createIndex(db, name);
  return missing.length;
}

/** Creates one allowlisted index (a backfill builds them one at a time, to see a stop signal between them). */
export function createIndex(db: Database, name: string): void {
  const index = SSE_INDEXES.find((i) => i.name === name);
  if (!index) throw new Error(`${name} is not an allowlisted index`);
  db.run(`CREATE INDEX IF NOT EXISTS ${index.name} ON sse_rows(${index.column})`);
}

export function missingIndexes(db: Database): string[] {
  const have = new Set(existing(db));
  return SSE_INDEXES.filter((i) => !have.has(i.name)).map((i) => i.name);
}
