// Migration 15: session_usage, each session's turns summed per model (the tokens past the 200k
// long-context threshold apart, as usage_buckets sums them, and the reasoning tokens). The session
// and model reports, the status line's session cost and `show`'s header read these few rows per
// session instead of every turn: the session report summed all 98,228 turns of the 1 GB corpus
// index (124-175 ms, after every commit on the dashboard). The index writer keeps it current for
// every session a batch touches. Its SQL is its own: a migration never calls code that a later
// change could alter.

import type { Migration } from "../schema";

const COUNTS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"];

export const v15: Migration = {
  version: 15,
  name: "session_usage: each session's calls summed per model",
  rewritesData: false,
  up(db) {
    db.run(`
      CREATE TABLE session_usage (
        session_id      INTEGER NOT NULL,
        model           TEXT NOT NULL,      -- 'unknown' for calls without one
        calls           INTEGER NOT NULL,
        ${COUNTS.map((c) => `${c} INTEGER NOT NULL`).join(",\n        ")},
        -- the tokens of each call past 200,000, summed: what a long-context price adds
        ${COUNTS.map((c) => `${c.replace("_tokens", "")}_above INTEGER NOT NULL`).join(",\n        ")},
        reasoning_tokens INTEGER NOT NULL,
        first_at        TEXT,               -- min(at) and max(at) of the calls ('' when undated)
        last_at         TEXT,
        PRIMARY KEY (session_id, model)
      ) WITHOUT ROWID;
      INSERT INTO session_usage
        SELECT session_id, coalesce(model, 'unknown'), count(*), ${COUNTS.map((c) => `sum(${c})`).join(", ")},
               ${COUNTS.map((c) => `sum(max(${c} - 200000, 0))`).join(", ")}, coalesce(sum(reasoning_tokens), 0), min(at), max(at)
        FROM turns GROUP BY 1, 2;
    `);
  },
};
