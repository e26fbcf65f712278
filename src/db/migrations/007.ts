// Migration 7: the writers table: claims of the deep index's writers and of maintenance.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v7: Migration = {
  version: 7,
  name: "the writers table: claims of the deep index's writers and of maintenance",
  rewritesData: false,
  up(db) {
    db.run(`
      -- One row per claim (db/writer-lock.ts). An index run or a pass of the index follower holds
      -- 'deep-index' while it writes; 'vacuum --full' holds 'all'. A row whose process is gone
      -- (this host, no such PID) is stale and taken over. A row of scope 'replaced' is written
      -- into a file that 'vacuum --full' is about to replace: whoever still has that file open
      -- must open the path again.
      CREATE TABLE writers (
        id          INTEGER PRIMARY KEY,
        scope       TEXT NOT NULL,      -- deep-index, all, replaced
        role        TEXT NOT NULL,      -- what holds it: 'index', 'index --follow', 'vacuum --full'
        pid         INTEGER NOT NULL,
        host        TEXT NOT NULL,
        started_at  TEXT NOT NULL
      );
    `);
  },
};
