// The usage_buckets table: the turns summed per 15-minute bucket (UTC) and model. The daily and
// monthly reports read these few thousand rows instead of every turn; the buckets become local
// dates in any time zone, half-hour and 45-minute offsets included.

import type { Database } from "bun:sqlite";

/** A turn time's bucket, as 'YYYY-MM-DDTHH:MM' (the bucket's start); the undated calls' bucket is '' (UNDATED). */
export const BUCKET_SQL = (at: string) => `iif(${at} = '', '', substr(${at}, 1, 14) || printf('%02d', CAST(substr(${at}, 15, 2) AS INTEGER) / 15 * 15))`;

/** Where the long-context price starts: the buckets also sum each call's tokens past it. */
export const LONG_CONTEXT_TOKENS = 200_000;

const COUNTS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"];

/** A group of turns' sums, in the columns usage_buckets and session_usage keep them in. */
export const SUM_COLUMNS = `calls, ${COUNTS.join(", ")}, input_above, output_above, cache_read_above, cache_write_5m_above, cache_write_1h_above`;

export const BUCKET_COLUMNS = `bucket, model, ${SUM_COLUMNS}`;

/** The sums of a group of turns, in BUCKET_COLUMNS order after bucket and model. */
export const BUCKET_SUMS_SQL = `count(*), ${COUNTS.map((c) => `sum(${c})`).join(", ")}, ${COUNTS.map((c) => `sum(max(${c} - ${LONG_CONTEXT_TOKENS}, 0))`).join(", ")}`;

/** Sums every turn into the (empty) usage_buckets: after a bulk load, or a database indexed before the buckets existed. */
export function fillUsageBuckets(db: Database) {
  db.run(`INSERT INTO usage_buckets (${BUCKET_COLUMNS}) SELECT ${BUCKET_SQL("at")}, coalesce(model, 'unknown'), ${BUCKET_SUMS_SQL} FROM turns GROUP BY 1, 2`);
}
