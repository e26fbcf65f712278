// Migration 3: lag in the ingester row, and the record of integrity checks.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v3: Migration = {
  version: 3,
  name: "lag in the ingester row, and the record of integrity checks",
  rewritesData: false,
  up(db) {
    db.run(`
      -- lines_per_s is now over the last minute. The lag is what 'sluice stats' judges health by.
      ALTER TABLE ingester ADD COLUMN lag_bytes INTEGER;          -- input size minus the read position
      ALTER TABLE ingester ADD COLUMN lag_growth_bytes INTEGER;   -- lag now minus lag a minute ago

      -- Every 'sluice check': what stats reports as the integrity of the database, without
      -- reading the whole file on each health probe.
      CREATE TABLE checks (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        kind     TEXT NOT NULL CHECK (kind IN ('quick', 'full')),
        ok       INTEGER NOT NULL,
        problems TEXT NOT NULL          -- JSON array of one-line descriptions
      );
    `);
  },
};
