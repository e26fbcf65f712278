// The deep index's invariants, for `sluice check`: the usage buckets are the sums of the turns they
// cover, every stored time is canonical or undated, every turn and tool use belongs to a known
// file, and each session's totals and sums per model are the sums of its turns. A database
// without a deep index has nothing to judge here.

import type { Database } from "bun:sqlite";
import { plural } from "../runtime/format";
import { BUCKET_SQL } from "./usage-buckets";
import { tableExists } from "../db/schema";

const CANONICAL_GLOB = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z";
const SUMS = "count(*) AS calls, coalesce(sum(input_tokens), 0) AS input, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cache_read_tokens), 0) AS cache_read";

/** Appends to `problems` whatever breaks the deep index's invariants. */
export function checkDeepIndexInvariants(db: Database, problems: string[]): { rows?: number } {
  if (!db.query("SELECT 1 FROM agent_files LIMIT 1").get()) return {};
  const fix = "run 'sluice index' to bring it up to date; if this stays, report it";
  // the buckets against the turns, bucket by bucket (a few thousand rows)
  const wrong = db.query(`
    SELECT count(*) AS n FROM (
      SELECT ${BUCKET_SQL("at")} AS bucket, coalesce(model, 'unknown') AS model, ${SUMS} FROM turns GROUP BY 1, 2
      EXCEPT SELECT bucket, model, calls, input_tokens, output_tokens, cache_read_tokens FROM usage_buckets)`).get() as { n: number };
  const extra = db.query(`SELECT count(*) AS n FROM usage_buckets b WHERE NOT EXISTS (SELECT 1 FROM turns t WHERE coalesce(t.model, 'unknown') = b.model AND ${BUCKET_SQL("t.at")} = b.bucket)`).get() as { n: number };
  if (wrong.n || extra.n) problems.push(`the daily totals (usage_buckets) disagree with the turns in ${plural(wrong.n + extra.n, "place")}; ${fix}`);
  const badTimes = db.query(`SELECT count(*) AS n FROM turns WHERE at <> '' AND NOT at GLOB '${CANONICAL_GLOB}'`).get() as { n: number };
  if (badTimes.n) problems.push(`${plural(badTimes.n, "turn")} with a time that is not canonical UTC; ${fix}`);
  const orphans = db.query("SELECT count(*) AS n FROM turns t WHERE NOT EXISTS (SELECT 1 FROM agent_files f WHERE f.id = t.file_id)").get() as { n: number };
  if (orphans.n) problems.push(`${plural(orphans.n, "turn")} belonging to no indexed file`);
  const sessions = db.query(`
    SELECT count(*) AS n FROM sessions s
    WHERE s.turns <> (SELECT count(*) FROM turns WHERE session_id = s.id)
       OR s.input_tokens <> (SELECT coalesce(sum(input_tokens), 0) FROM turns WHERE session_id = s.id)`).get() as { n: number };
  if (sessions.n) problems.push(`${plural(sessions.n, "session")} whose totals are not the sums of their turns; ${fix}`);
  if (tableExists(db, "session_usage")) {
    // each session's sums per model (what the session and model reports read) against its turns
    const ofTurns = `SELECT session_id, coalesce(model, 'unknown') AS model, ${SUMS} FROM turns GROUP BY 1, 2`;
    const stored = "SELECT session_id, model, calls, input_tokens, output_tokens, cache_read_tokens FROM session_usage";
    // a (session, model) counted once, whichever side is wrong or missing
    const usage = db.query(`SELECT count(*) AS n FROM (SELECT session_id, model FROM (${ofTurns} EXCEPT ${stored}) UNION SELECT session_id, model FROM (${stored} EXCEPT ${ofTurns}))`).get() as { n: number };
    if (usage.n) problems.push(`the sessions' sums per model (session_usage) disagree with the turns in ${plural(usage.n, "place")}; ${fix}`);
  }
  return { rows: (db.query("SELECT count(*) AS n FROM turns").get() as { n: number }).n };
}
