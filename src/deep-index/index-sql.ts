// The SQL of the deep index's writer (index-writer.ts), one named statement each. The JSON that
// some of them read is the parser's tuples (file-parser.ts), slot by slot as its enums name them.

import { Invocation, Result, Turn } from "./file-parser";
import { BUCKET_COLUMNS, BUCKET_SQL, BUCKET_SUMS_SQL, SUM_COLUMNS } from "./usage-buckets";

export const UPSERT_SESSION_SQL = `
  INSERT INTO sessions (agent, session_key, file, parent_session, is_sidechain, agent_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
  ON CONFLICT (session_key) DO UPDATE SET file = excluded.file RETURNING id`;

// The rows of some files only (the ones a watch named): those of their paths and of their inodes.
/** How far the archive holds a file's latest generation (it lags indexed_offset where runs did not archive). */
const ARCHIVED_TO = "(SELECT g.archived_to FROM archive_generations g WHERE g.file_id = f.id ORDER BY g.generation DESC LIMIT 1) AS archived_to";

export const KNOWN_FILES_SQL = `SELECT f.*, ${ARCHIVED_TO} FROM agent_files f ORDER BY id`;

export const KNOWN_FILES_OF_SQL = `
  SELECT f.*, ${ARCHIVED_TO} FROM (
    SELECT * FROM agent_files WHERE path IN (SELECT value FROM json_each(?1))
    UNION SELECT * FROM agent_files WHERE (dev, ino) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))) f
  ORDER BY id`;

export const INSERT_FILE_SQL = "INSERT INTO agent_files (path, agent, session_id) VALUES (?, ?, ?) RETURNING id";

export const SAVE_FILE_SQL = `
  UPDATE agent_files SET dev = ?2, ino = ?3, fingerprint = ?4, fingerprint_len = ?5, size = ?6, mtime_ms = ?7, indexed_offset = ?8,
    lines = lines + ?9, malformed = malformed + ?10, unknown = unknown + ?11, state = ?12, indexed_at = ?13, tail_fingerprint = ?14 WHERE id = ?1`;

// The session's file is shown where it is now; the session keeps its key.
export const MOVE_FILE_SQL = "UPDATE agent_files SET path = ?2 WHERE id = ?1";
export const MOVE_SESSION_FILE_SQL = "UPDATE sessions SET file = ?2 WHERE id = ?1";

export const RESET_FILE_SQL = "UPDATE agent_files SET lines = 0, malformed = 0, unknown = 0, indexed_offset = 0, state = NULL, tail_fingerprint = NULL WHERE id = ?";

export const RESET_SESSION_SQL = "UPDATE sessions SET first_at = NULL, last_at = NULL, user_messages = 0, compactions = 0, first_prompt = NULL, summary = NULL WHERE id = ?";

// The calls of this file already in the index (an earlier run's lines of the same message, a
// sidechain replay, a resumed session's copy): their sessions' totals and their time buckets
// may change too.
export const EXISTING_CALLS_SQL = `
  SELECT t.session_id AS id, t.at, t.id AS turn FROM json_each(?1) AS j
  JOIN turns AS t ON t.message_id = j.value ->> ${Turn.messageId} AND t.request_id = j.value ->> ${Turn.requestId}`;

// Each call counted once: a main-chain copy beats a sidechain replay; then the larger total
// (the line with the final usage) beats the placeholder counts of a message's earlier content
// blocks. A file's own lines are settled in memory first, so this runs once per call. (Bound
// row by row: 16 `->>` extractions per row from a JSON array took twice as long.)
export const UPSERT_TURN_SQL = `
  INSERT INTO turns (session_id, seq, message_id, request_id, model, at, input_tokens, output_tokens, cache_read_tokens,
    cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, total_tokens, service_tier, stop_reason, is_sidechain, file_id, byte_offset)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
  ON CONFLICT (message_id, request_id) DO UPDATE SET
    session_id = excluded.session_id, seq = excluded.seq, model = excluded.model, at = excluded.at,
    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
    cache_write_5m_tokens = excluded.cache_write_5m_tokens, cache_write_1h_tokens = excluded.cache_write_1h_tokens,
    reasoning_tokens = excluded.reasoning_tokens, total_tokens = excluded.total_tokens, service_tier = excluded.service_tier,
    stop_reason = coalesce(excluded.stop_reason, turns.stop_reason), is_sidechain = excluded.is_sidechain,
    file_id = excluded.file_id, byte_offset = excluded.byte_offset
  WHERE excluded.is_sidechain < turns.is_sidechain
     OR (excluded.is_sidechain = turns.is_sidechain AND excluded.total_tokens > turns.total_tokens)
  RETURNING id, at`;

// A file's invocations go in as one JSON array: one statement instead of one per tool use,
// which halved the write phase (the cost was in binding, not in SQLite).
export const INSERT_INVOCATIONS_SQL = `
  INSERT OR IGNORE INTO invocations (session_id, turn_id, at, kind, name, tool_use_id, file_id, byte_offset)
  SELECT ?1, (SELECT id FROM turns WHERE message_id = j.value ->> ${Invocation.messageId} AND request_id = j.value ->> ${Invocation.requestId}),
         j.value ->> ${Invocation.at}, j.value ->> ${Invocation.kind}, j.value ->> ${Invocation.name}, j.value ->> ${Invocation.toolUseId}, ?2,
         j.value ->> ${Invocation.offset}
  FROM json_each(?3) AS j`;

export const MARK_RESULTS_SQL = `
  UPDATE invocations SET is_error = CASE WHEN j.value ->> ${Result.failed} THEN 1 ELSE coalesce(is_error, 0) END
  FROM json_each(?1) AS j WHERE invocations.tool_use_id = j.value ->> ${Result.toolUseId}`;

export const UPDATE_SESSION_SQL = `
  UPDATE sessions SET
    agent_session_id = coalesce(agent_session_id, ?2), project = coalesce(project, ?3), parent_session = coalesce(parent_session, ?4),
    is_sidechain = max(is_sidechain, ?5), agent_type = coalesce(agent_type, ?6), git_branch = coalesce(?7, git_branch),
    tool_version = coalesce(?8, tool_version),
    first_at = CASE WHEN first_at IS NULL OR ?9 < first_at THEN ?9 ELSE first_at END,
    last_at = CASE WHEN last_at IS NULL OR ?10 > last_at THEN ?10 ELSE last_at END,
    user_messages = user_messages + ?11, compactions = compactions + ?12,
    first_prompt = coalesce(first_prompt, ?13), summary = coalesce(?14, summary)
  WHERE id = ?1`;

export const RECOMPUTE_SESSION_SQL = `
  UPDATE sessions SET
    (turns, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens) =
      (SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cache_read_tokens), 0),
              coalesce(sum(cache_write_5m_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0), coalesce(sum(reasoning_tokens), 0)
       FROM turns WHERE session_id = ?1),
    tool_calls = (SELECT count(*) FROM invocations WHERE session_id = ?1 AND kind <> 'slash_command'),
    primary_model = (SELECT model FROM turns WHERE session_id = ?1 AND model IS NOT NULL GROUP BY model ORDER BY count(*) DESC, sum(output_tokens) DESC LIMIT 1)
  WHERE id = ?1`;

// A file's rows are always in its own session (agent_files.session_id), whose index finds them.
export const TURNS_OF_FILE_SQL = "SELECT DISTINCT session_id AS id, at FROM turns WHERE session_id = ?2 AND file_id = ?1";

export const FORGET_INVOCATIONS_SQL = "DELETE FROM invocations WHERE session_id = ?2 AND file_id = ?1";
export const FORGET_TURNS_SQL = "DELETE FROM turns WHERE session_id = ?2 AND file_id = ?1";

export const BUCKETS_OF_SQL = `SELECT DISTINCT ${BUCKET_SQL("value")} AS bucket FROM json_each(?1)`;

// The calls new in a batch added to their buckets, but for the buckets summed afresh (?2): an
// appended session costs its own calls, where summing its buckets again read every call of their
// hours (25-40 ms on the 1 GB corpus, whose copies of a session share their hours).
export const ADD_TO_BUCKETS_SQL = `
  INSERT INTO usage_buckets (${BUCKET_COLUMNS})
  SELECT * FROM (
    SELECT ${BUCKET_SQL("at")} AS bucket, coalesce(model, 'unknown'), ${BUCKET_SUMS_SQL}
    FROM turns WHERE id IN (SELECT value FROM json_each(?1)) GROUP BY 1, 2
  ) WHERE bucket NOT IN (SELECT value FROM json_each(?2))
  ON CONFLICT (bucket, model) DO UPDATE SET ${SUM_COLUMNS.split(", ").map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

export const CLEAR_BUCKET_SQL = "DELETE FROM usage_buckets WHERE bucket = ?1";

// The hour's range of the index narrows the scan; the bucket expression decides.
export const FILL_BUCKET_SQL = `
  INSERT INTO usage_buckets (${BUCKET_COLUMNS}) SELECT ?1, coalesce(model, 'unknown'), ${BUCKET_SUMS_SQL}
  FROM turns
  WHERE at >= substr(?1, 1, 13) AND at < substr(?1, 1, 13) || '~' AND ${BUCKET_SQL("at")} = ?1
  GROUP BY coalesce(model, 'unknown')`;

// The undated calls' bucket: found by their time, '' (an index lookup, where the expression above
// would scan every turn).
export const FILL_UNDATED_SQL = `
  INSERT INTO usage_buckets (${BUCKET_COLUMNS}) SELECT '', coalesce(model, 'unknown'), ${BUCKET_SUMS_SQL}
  FROM turns WHERE at = '' GROUP BY coalesce(model, 'unknown')`;

// Calls an earlier increment of a file left undated, dated by the first dated line after them.
export const DATE_WAITING_SQL = "UPDATE turns SET at = ?3 WHERE session_id = ?2 AND file_id = ?1 AND at = ''";

// The models from the buckets: a model's calls are its buckets' calls, and its first and last
// call lie in its first and last bucket, a range of turns_usage_by_at. So no index on
// turns(model) is kept up at every insert for this.
export const MODELS_FROM_BUCKETS_SQL = `
  SELECT model, sum(calls) AS calls, min(nullif(bucket, '')) AS first_bucket, max(nullif(bucket, '')) AS last_bucket
  FROM usage_buckets WHERE model <> 'unknown' GROUP BY model`;

const IN_BUCKET = `at >= substr(?2, 1, 13) AND at < substr(?2, 1, 13) || '~' AND model = ?1 AND ${BUCKET_SQL("at")} = ?2`;

export const FIRST_AT_OF_SQL = `SELECT min(at) AS at FROM turns WHERE ${IN_BUCKET}`;

export const LAST_AT_OF_SQL = `SELECT max(at) AS at FROM turns WHERE ${IN_BUCKET}`;

export const UPSERT_MODEL_SQL = `
  INSERT INTO models (id, provider, family, first_seen, last_seen, calls) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
  ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, family = excluded.family,
    first_seen = excluded.first_seen, last_seen = excluded.last_seen, calls = excluded.calls`;

// The models of the calls new in a batch, when no call changed or went: each one's first and
// last call moved out at most to the new calls' times, and its calls are its buckets' (already
// added to). A model's call times otherwise come from a range of its first and last bucket, which
// on the 1 GB corpus read thousands of calls per model (5 ms of an appended session's re-index).
export const NEW_CALLS_MODELS_SQL = `
  SELECT model, min(nullif(at, '')) AS first, max(nullif(at, '')) AS last FROM turns
  WHERE id IN (SELECT value FROM json_each(?1)) AND model IS NOT NULL AND model <> 'unknown' GROUP BY model`;

export const WIDEN_MODEL_SQL = `
  INSERT INTO models (id, provider, family, first_seen, last_seen, calls)
  VALUES (?1, ?2, ?3, ?4, ?5, (SELECT sum(calls) FROM usage_buckets WHERE model = ?1))
  ON CONFLICT (id) DO UPDATE SET
    first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
    last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen), calls = excluded.calls`;

// a model whose last turns were in a file that was rewritten
export const DROP_MODELS_SQL = "DELETE FROM models WHERE id NOT IN (SELECT model FROM usage_buckets)";
