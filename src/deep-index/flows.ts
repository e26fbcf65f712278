// Flows: one row per model call in sse_lines, with time to first token, duration and output speed.
// Built SQL-side and incrementally: the flows that have rows past the last id built are rebuilt
// whole from their rows (a stream still being written is simply rebuilt on the next run). Only the
// few lines that carry the model, usage and stop reason are decoded.

import type { Database } from "bun:sqlite";

/** Events that carry content: the first of them is the first token. */
const DELTAS = ["content_block_delta", "response.output_text.delta", "response.reasoning_summary_text.delta", "response.reasoning_text.delta", "response.function_call_arguments.delta", "response.output_item.done"];
/** Events whose data the flow needs decoded. */
const SUMMARY_EVENTS = ["message_start", "message_delta", "response.created", "response.completed", "response.incomplete", "response.failed"];

const list = (xs: string[]) => xs.map((x) => `'${x}'`).join(", ");
const ms = (a: string, b: string) => `round((unixepoch(${a}, 'subsec') - unixepoch(${b}, 'subsec')) * 1000, 1)`;

const REBUILD_SQL = `
  INSERT OR REPLACE INTO flows (flow_id, source, sid, round, turn_id, model, message_id, started_at, first_token_at, ended_at,
    ttft_ms, duration_ms, output_tokens_per_s, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, stop_reason, lines)
  SELECT flow_id, source, sid, round, turn_id, model, message_id, started_at, first_token_at, ended_at,
    ${ms("first_token_at", "started_at")}, ${ms("ended_at", "started_at")},
    CASE WHEN output_tokens > 0 AND ${ms("ended_at", "first_token_at")} > 0 THEN output_tokens * 1000.0 / (${ms("ended_at", "first_token_at")}) END,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, stop_reason, lines
  FROM (
    SELECT flow_id, min(source) AS source, min(sid) AS sid, min(round) AS round, min(meta_turn_id) AS turn_id,
      coalesce(max(CASE WHEN event = 'message_start' THEN data ->> '$.message.model' END), max(data ->> '$.response.model')) AS model,
      coalesce(max(CASE WHEN event = 'message_start' THEN data ->> '$.message.id' END), max(data ->> '$.response.id')) AS message_id,
      min(t) AS started_at, max(t) AS ended_at,
      min(CASE WHEN event IN (${list(DELTAS)}) THEN t END) AS first_token_at,
      coalesce(max(CASE WHEN event = 'message_start' THEN data ->> '$.message.usage.input_tokens' END),
               max(CASE WHEN event = 'response.completed' THEN (data ->> '$.response.usage.input_tokens') - coalesce(data ->> '$.response.usage.input_tokens_details.cached_tokens', 0) END)) AS input_tokens,
      coalesce(max(CASE WHEN event = 'message_delta' THEN data ->> '$.usage.output_tokens' END),
               max(CASE WHEN event = 'response.completed' THEN data ->> '$.response.usage.output_tokens' END)) AS output_tokens,
      coalesce(max(CASE WHEN event = 'message_start' THEN data ->> '$.message.usage.cache_read_input_tokens' END),
               max(CASE WHEN event = 'response.completed' THEN data ->> '$.response.usage.input_tokens_details.cached_tokens' END)) AS cache_read_tokens,
      max(CASE WHEN event = 'message_start' THEN data ->> '$.message.usage.cache_creation_input_tokens' END) AS cache_write_tokens,
      coalesce(max(CASE WHEN event = 'message_delta' THEN data ->> '$.delta.stop_reason' END),
               max(CASE event WHEN 'response.completed' THEN 'completed' WHEN 'response.incomplete' THEN coalesce(data ->> '$.response.incomplete_details.reason', 'incomplete') WHEN 'response.failed' THEN 'failed' END)) AS stop_reason,
      count(*) AS lines
    FROM (
      SELECT r.flow_id, r.source, r.sid, r.round, r.meta_turn_id, r.t, r.event,
        CASE WHEN r.event IN (${list(SUMMARY_EVENTS)}) THEN
          (SELECT CASE WHEN json_valid(j) THEN j END FROM (SELECT substr(CASE WHEN d.id IS NULL THEN x.raw ->> '$.line' ELSE d.line END, 7) AS j))
        END AS data
      FROM sse_rows r JOIN sse_raw x ON x.id = r.id LEFT JOIN sse_decoded d ON d.id = r.id
      WHERE r.flow_id IN (SELECT flow_id FROM temp.flows_touched)
    )
    GROUP BY flow_id
  )`;

const stateOf = (db: Database, key: string) => (db.query("SELECT value FROM index_state WHERE key = ?").get(key) as { value: unknown } | null)?.value ?? null;
const SET_STATE = "INSERT INTO index_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/**
 * The capture can start over: \`ingest --from-scratch\` empties its tables and forgets its sources,
 * and its row ids start again from 1. The flows built from the old rows are then dropped and built
 * again from the first row. What tells is the creation time of the capture's first source, which
 * a fresh start replaces (kept in index_state as flows_capture_mark).
 */
function startOverIfCaptureDid(db: Database): void {
  const mark = (db.query("SELECT coalesce((SELECT created_at FROM sources ORDER BY id LIMIT 1), '') AS m").get() as { m: string }).m;
  const before = stateOf(db, "flows_capture_mark");
  if (before === mark) return;
  db.transaction(() => {
    if (before !== null) {
      db.run("DELETE FROM flows");
      db.run("DELETE FROM index_state WHERE key = 'flows_through_id'");
    }
    db.run(SET_STATE, ["flows_capture_mark", mark]);
  }).immediate();
}

/** True when the capture has rows the flows have not been built from (or it started over): a read, no claim. */
export function flowsPending(db: Database): boolean {
  const mark = (db.query("SELECT coalesce((SELECT created_at FROM sources ORDER BY id LIMIT 1), '') AS m").get() as { m: string }).m;
  if (stateOf(db, "flows_capture_mark") !== mark) return true;
  const to = (db.query("SELECT coalesce(max(id), 0) AS m FROM sse_rows").get() as { m: number }).m;
  return to > ((stateOf(db, "flows_through_id") as number | null) ?? 0);
}

export function buildFlows(db: Database): { flows: number; ms: number } {
  const started = performance.now();
  startOverIfCaptureDid(db);
  const from = (stateOf(db, "flows_through_id") as number | null) ?? 0;
  const to = (db.query("SELECT coalesce(max(id), 0) AS m FROM sse_rows").get() as { m: number }).m;
  if (to <= from) return { flows: 0, ms: Math.round(performance.now() - started) };
  let flows = 0;
  db.transaction(() => {
    db.run("CREATE TEMP TABLE IF NOT EXISTS flows_touched (flow_id TEXT PRIMARY KEY)");
    db.run("DELETE FROM temp.flows_touched");
    db.run("INSERT OR IGNORE INTO temp.flows_touched SELECT flow_id FROM sse_rows WHERE id > ? AND id <= ? AND flow_id IS NOT NULL", [from, to]);
    flows = (db.query("SELECT count(*) AS n FROM temp.flows_touched").get() as { n: number }).n;
    db.run(REBUILD_SQL);
    db.run(SET_STATE, ["flows_through_id", to]);
  }).immediate();
  return { flows, ms: Math.round(performance.now() - started) };
}
