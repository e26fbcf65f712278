// Migration 10: what `sluice push` needs: the database's device identity, and a change log of the
// deep index's tables that tells a push which rows changed since the one before.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

/**
 * The tables a push sends, by their number in push_log.tbl, and what a log entry names: the rowid
 * for a table with an INTEGER PRIMARY KEY (stable for the row's life, VACUUM keeps it), the key
 * itself for the others, whose implicit rowids VACUUM may renumber (models, flows), or which have
 * none (usage_buckets; its entries name a whole 15-minute bucket).
 */
const LOGGED: Array<[code: number, table: string, key: string]> = [
  [1, "sessions", "id"],
  [2, "turns", "id"],
  [3, "invocations", "id"],
  [4, "agent_files", "id"],
  [5, "models", "id"],
  [6, "usage_buckets", "bucket"],
  [7, "flows", "flow_id"],
];

/**
 * The entry of a row at the next seq: a row changed twice keeps one entry, at its latest seq, so
 * the log never outgrows the tables. Neither statement can conflict, on purpose: in a trigger the
 * firing statement's conflict policy overrides the body's (an UPSERT makes a REPLACE here fail,
 * an INSERT OR IGNORE makes it skip the entry, and the change would go unseen).
 */
const logEntry = (code: number, key: string) => `
      UPDATE push_log SET seq = (SELECT max(seq) + 1 FROM push_log) WHERE tbl = ${code} AND row_key = ${key};
      INSERT INTO push_log (tbl, row_key, seq) SELECT ${code}, ${key}, (SELECT coalesce(max(seq), 0) + 1 FROM push_log)
        WHERE NOT EXISTS (SELECT 1 FROM push_log WHERE tbl = ${code} AND row_key = ${key});`;

function triggers(code: number, table: string, key: string): string {
  // Off until the database first pushes: until then each write pays only this lookup of one row.
  const when = "WHEN (SELECT tracking FROM device WHERE id = 1)";
  return `
    CREATE TRIGGER push_${table}_insert AFTER INSERT ON ${table} ${when} BEGIN ${logEntry(code, `NEW.${key}`)} END;
    CREATE TRIGGER push_${table}_delete AFTER DELETE ON ${table} ${when} BEGIN ${logEntry(code, `OLD.${key}`)} END;
    -- (a key that changed leaves its old key changed too: the store's rows under it go)
    CREATE TRIGGER push_${table}_update AFTER UPDATE ON ${table} ${when} BEGIN ${logEntry(code, `NEW.${key}`)} END;
    CREATE TRIGGER push_${table}_rekey AFTER UPDATE OF ${key} ON ${table} ${when} AND OLD.${key} IS NOT NEW.${key} BEGIN ${logEntry(code, `OLD.${key}`)} END;`;
}

/** A version 4 UUID from SQLite's random source. */
const UUID_SQL = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

export const v10: Migration = {
  version: 10,
  name: "push: the device identity and the change log of the deep index",
  rewritesData: false,
  up(db) {
    db.run(`
      -- One row: who this database is to a team store. The id is made once, here, and goes with the
      -- file: a copy of the database (a backup restored elsewhere) has the same id, and a push tells
      -- the two apart by where it last pushed from (sluice.devices in PostgreSQL; docs/team.md).
      CREATE TABLE device (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        device_id   TEXT NOT NULL,          -- a random UUID
        name        TEXT,                   -- 'push --device'; NULL: the host name
        user_label  TEXT,                   -- 'push --user'; NULL: the user name
        created_at  TEXT NOT NULL,
        tracking    INTEGER NOT NULL DEFAULT 0  -- 1 from the first push on: the triggers keep push_log
      );
      INSERT INTO device (id, device_id, created_at) VALUES (1, ${UUID_SQL}, strftime('%Y-%m-%dT%H:%M:%fZ'));
      -- What changed in the deep index: one entry per row (or bucket) at the seq of its last change,
      -- inserted, updated or deleted. A push sends what has entries past the seq it pushed through
      -- last (its watermark, kept in PostgreSQL with the rows). Entries are never deleted, so every
      -- store this database pushes to reads the same log and nothing is written here by a push.
      CREATE TABLE push_log (
        tbl      INTEGER NOT NULL,   -- 1 sessions, 2 turns, 3 invocations, 4 agent_files, 5 models, 6 usage_buckets, 7 flows
        row_key  NOT NULL,           -- the rowid (1-4); the model id, the bucket, the flow id (5-7)
        seq      INTEGER NOT NULL,   -- rises with every change
        PRIMARY KEY (tbl, row_key)
      ) WITHOUT ROWID;
      CREATE INDEX push_log_by_seq ON push_log(seq);
      -- Each store this database pushed to and how far (the URL without any password): for status.
      -- The store's own watermark decides what is sent; this row is written after its commit.
      CREATE TABLE push_targets (
        target      TEXT PRIMARY KEY,
        device_id   TEXT NOT NULL,
        through_seq INTEGER NOT NULL,
        pushed_at   TEXT NOT NULL
      );
      ${LOGGED.map(([code, table, key]) => triggers(code, table, key)).join("\n")}
    `);
  },
};
