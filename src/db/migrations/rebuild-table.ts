// A helper of the migrations that change a table's constraints.

import type { Database } from "bun:sqlite";

/**
 * Rebuilds a table with its definition edited (SQLite cannot drop a table constraint in place):
 * the new table from the stored CREATE TABLE, comments and all, then its rows, then the name.
 * Its indexes go with the old table; the caller makes the new ones.
 */
export function rebuildTable(db: Database, table: string, edit: (sql: string) => string) {
  const { sql } = db.query("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) as { sql: string };
  const edited = edit(sql);
  if (edited === sql) throw new Error(`the definition of ${table} is not the one this migration expects`);
  const columns = (db.query(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(", ");
  db.run(edited.replace(/^CREATE TABLE "?\w+"?/, `CREATE TABLE ${table}_rebuilt`));
  db.run(`INSERT INTO ${table}_rebuilt (${columns}) SELECT ${columns} FROM "${table}"`);
  db.run(`DROP TABLE "${table}"`);
  db.run(`ALTER TABLE ${table}_rebuilt RENAME TO "${table}"`);
}
