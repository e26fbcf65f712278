// The session_usage table: each session's turns summed per model, with the tokens past the
// long-context threshold apart (as usage_buckets sums them) and the reasoning tokens. The session
// and model reports read these few rows per session instead of every turn. The index writer sums
// a session again whenever a batch touched it, and every session at the end of a bulk load.

import type { Database } from "bun:sqlite";
import { BUCKET_SUMS_SQL, SUM_COLUMNS } from "./usage-buckets";

export const SESSION_USAGE_COLUMNS = `session_id, model, ${SUM_COLUMNS}, reasoning_tokens, first_at, last_at`;

const SUMS_SQL = `${BUCKET_SUMS_SQL}, coalesce(sum(reasoning_tokens), 0), min(at), max(at)`;

export const CLEAR_SESSION_USAGE_SQL = "DELETE FROM session_usage WHERE session_id = ?1";

export const FILL_SESSION_USAGE_SQL = `
  INSERT INTO session_usage (${SESSION_USAGE_COLUMNS}) SELECT ?1, coalesce(model, 'unknown'), ${SUMS_SQL}
  FROM turns WHERE session_id = ?1 GROUP BY 2`;

/** Sums every session afresh: after a bulk load, or an index built where the table did not exist (the team report's). */
export function fillSessionUsage(db: Database) {
  db.run("DELETE FROM session_usage");
  db.run(`INSERT INTO session_usage (${SESSION_USAGE_COLUMNS}) SELECT session_id, coalesce(model, 'unknown'), ${SUMS_SQL} FROM turns GROUP BY 1, 2`);
}
