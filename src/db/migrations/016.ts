// Migration 16: the writers' commit latencies, for /metrics. The live capture saves its own on the
// ingester row with each heartbeat; the index follower on its 'running' row in writers, with the
// release of each pass's claim: both ride on writes the writers make anyway, never a commit of
// their own. The server only reads the database, so the writers must record them.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v16: Migration = {
  version: 16,
  name: "the writers' commit latencies",
  rewritesData: false,
  up(db) {
    db.run(`
      -- JSON {"le": [upper bounds, s], "counts": [per bucket, the last +Inf], "sum": s, "count": n}:
      -- a histogram of the transactions' times from BEGIN to COMMIT since the writer started.
      ALTER TABLE ingester ADD COLUMN commit_latency TEXT;
      ALTER TABLE writers ADD COLUMN commit_latency TEXT;
    `);
  },
};
