// Migration 5: turn indexes for the per-model totals and the reports.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v5: Migration = {
  version: 5,
  name: "turn indexes for the per-model totals and the reports",
  rewritesData: false,
  up(db) {
    db.run(`
      -- The models table is recomputed from min(at), max(at) and count(*) per model after every
      -- index run: without this index each model touched meant a scan of every turn.
      CREATE INDEX turns_by_model ON turns(model, at);
      -- Covers the reports: a day's or a month's sums and costs read this index, not the wide rows.
      DROP INDEX turns_by_at;
      CREATE INDEX turns_usage_by_at ON turns(at, model, input_tokens, output_tokens, cache_read_tokens,
        cache_write_5m_tokens, cache_write_1h_tokens);

      -- The turns summed per 15-minute bucket (UTC) and model, kept current by the indexer
      -- (db/usage-buckets.ts). The *_above columns sum each call's tokens past 200k, which the
      -- long-context price needs.
      CREATE TABLE usage_buckets (
        bucket                 TEXT NOT NULL,     -- 'YYYY-MM-DDTHH:MM', the bucket's start
        model                  TEXT NOT NULL,     -- 'unknown' when a turn has none
        calls                  INTEGER NOT NULL,
        input_tokens           INTEGER NOT NULL,
        output_tokens          INTEGER NOT NULL,
        cache_read_tokens      INTEGER NOT NULL,
        cache_write_5m_tokens  INTEGER NOT NULL,
        cache_write_1h_tokens  INTEGER NOT NULL,
        input_above            INTEGER NOT NULL,
        output_above           INTEGER NOT NULL,
        cache_read_above       INTEGER NOT NULL,
        cache_write_5m_above   INTEGER NOT NULL,
        cache_write_1h_above   INTEGER NOT NULL,
        PRIMARY KEY (bucket, model)
      ) WITHOUT ROWID;
    `);
    // The turns already indexed, summed into their buckets (as deep-index/usage-buckets.ts sums
    // them at this version: 15-minute UTC buckets, tokens past 200k summed apart).
    db.run(`
      INSERT INTO usage_buckets (bucket, model, calls, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens, input_above, output_above, cache_read_above, cache_write_5m_above, cache_write_1h_above)
      SELECT substr(at, 1, 14) || printf('%02d', CAST(substr(at, 15, 2) AS INTEGER) / 15 * 15), coalesce(model, 'unknown'),
        count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens),
        sum(max(input_tokens - 200000, 0)), sum(max(output_tokens - 200000, 0)), sum(max(cache_read_tokens - 200000, 0)),
        sum(max(cache_write_5m_tokens - 200000, 0)), sum(max(cache_write_1h_tokens - 200000, 0))
      FROM turns GROUP BY 1, 2
    `);
  },
};
