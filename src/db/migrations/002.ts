// Migration 2: the ingester row: lock, mode and heartbeat of the running ingester.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v2: Migration = {
  version: 2,
  name: "the ingester row: lock, mode and heartbeat of the running ingester",
  rewritesData: false,
  up(db) {
    db.run(`
      -- One row, kept by the ingester that holds the database: it is the lock against a second
      -- writer (a live PID on this host holds it) and what 'sluice status' reports.
      CREATE TABLE ingester (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        pid             INTEGER NOT NULL,
        host            TEXT NOT NULL,
        mode            TEXT NOT NULL,   -- backfill, live, stopped
        input           TEXT,
        source_id       INTEGER,
        started_at      TEXT NOT NULL,
        heartbeat_at    TEXT NOT NULL,
        rss_bytes       INTEGER,
        max_rss_bytes   INTEGER,
        input_size      INTEGER,         -- size of the input at the last heartbeat
        lines_per_s     REAL             -- over the last heartbeat interval
      );
    `);
  },
};
