// The one writer of the deep index. It writes what the parser made of one agent log file (see
// file-parser.ts) with statements prepared once, and recomputes the session, model and time-bucket
// totals from the turns once per batch, for what the batch touched. A first index writes its rows
// through bulk-load.ts instead, and sums everything once at its end.

import type { Database, Statement } from "bun:sqlite";
import { BUCKET_COLUMNS, BUCKET_SQL, BUCKET_SUMS_SQL, fillUsageBuckets } from "../db/usage-buckets";
import type { ParsedFile, SessionFacts, TurnRow } from "./file-parser";

export interface FileTarget {
  fileId: number;
  sessionId: number;
  /** A subagent's transcript: its lines' sessionId is the parent's. */
  subagent: boolean;
}

export class IndexWriter {
  readonly touchedSessions = new Set<number>();
  /** Times of the turns written or removed in this batch: their usage buckets are summed again. */
  readonly touchedTimes = new Set<string>();
  private readonly existingCalls: Statement;
  private readonly turnsOfFile: Statement;
  private readonly forgetStatements: Statement[];
  private readonly bucketsOf: Statement;
  private readonly clearBucket: Statement;
  private readonly fillBucket: Statement;
  private readonly upsertTurn: Statement;
  private readonly insertInvocations: Statement;
  private readonly markResults: Statement;
  private readonly updateSession: Statement;
  private readonly recomputeSession: Statement;
  private readonly modelsFromBuckets: Statement;
  private readonly firstAtOf: Statement;
  private readonly lastAtOf: Statement;
  private readonly upsertModel: Statement;
  private readonly dropModels: Statement;

  constructor(readonly db: Database) {
    // The calls of this file already in the index (an earlier run's lines of the same message, a
    // sidechain replay, a resumed session's copy): their sessions' totals and their time buckets
    // may change too.
    this.existingCalls = db.prepare(`
      SELECT t.session_id AS id, t.at FROM json_each(?1) AS j
      JOIN turns AS t ON t.message_id = j.value ->> 1 AND t.request_id = j.value ->> 2`);
    // Each call counted once: a main-chain copy beats a sidechain replay; then the larger total
    // (the line with the final usage) beats the placeholder counts of a message's earlier content
    // blocks. A file's own lines are settled in memory first, so this runs once per call. (Bound
    // row by row: 16 `->>` extractions per row from a JSON array took twice as long.)
    this.upsertTurn = db.prepare(`
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
         OR (excluded.is_sidechain = turns.is_sidechain AND excluded.total_tokens > turns.total_tokens)`);
    // A file's invocations go in as one JSON array: one statement instead of one per tool use,
    // which halved the write phase (the cost was in binding, not in SQLite).
    this.insertInvocations = db.prepare(`
      INSERT OR IGNORE INTO invocations (session_id, turn_id, at, kind, name, tool_use_id, file_id, byte_offset)
      SELECT ?1, (SELECT id FROM turns WHERE message_id = j.value ->> 0 AND request_id = j.value ->> 1), j.value ->> 2, j.value ->> 3,
             j.value ->> 4, j.value ->> 5, ?2, j.value ->> 6
      FROM json_each(?3) AS j`);
    this.markResults = db.prepare(`
      UPDATE invocations SET is_error = CASE WHEN j.value ->> 1 THEN 1 ELSE coalesce(is_error, 0) END
      FROM json_each(?1) AS j WHERE invocations.tool_use_id = j.value ->> 0`);
    this.updateSession = db.prepare(`
      UPDATE sessions SET
        agent_session_id = coalesce(agent_session_id, ?2), project = coalesce(project, ?3), parent_session = coalesce(parent_session, ?4),
        is_sidechain = max(is_sidechain, ?5), agent_type = coalesce(agent_type, ?6), git_branch = coalesce(?7, git_branch),
        tool_version = coalesce(?8, tool_version),
        first_at = CASE WHEN first_at IS NULL OR ?9 < first_at THEN ?9 ELSE first_at END,
        last_at = CASE WHEN last_at IS NULL OR ?10 > last_at THEN ?10 ELSE last_at END,
        user_messages = user_messages + ?11, compactions = compactions + ?12,
        first_prompt = coalesce(first_prompt, ?13), summary = coalesce(?14, summary)
      WHERE id = ?1`);
    this.recomputeSession = db.prepare(`
      UPDATE sessions SET
        (turns, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens) =
          (SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cache_read_tokens), 0),
                  coalesce(sum(cache_write_5m_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0), coalesce(sum(reasoning_tokens), 0)
           FROM turns WHERE session_id = ?1),
        tool_calls = (SELECT count(*) FROM invocations WHERE session_id = ?1 AND kind <> 'slash_command'),
        primary_model = (SELECT model FROM turns WHERE session_id = ?1 AND model IS NOT NULL GROUP BY model ORDER BY count(*) DESC, sum(output_tokens) DESC LIMIT 1)
      WHERE id = ?1`);
    // A file's rows are always in its own session (agent_files.session_id), whose index finds them.
    this.turnsOfFile = db.prepare("SELECT DISTINCT session_id AS id, at FROM turns WHERE session_id = ?2 AND file_id = ?1");
    this.forgetStatements = [
      db.prepare("DELETE FROM invocations WHERE session_id = ?2 AND file_id = ?1"),
      db.prepare("DELETE FROM turns WHERE session_id = ?2 AND file_id = ?1"),
    ];
    this.bucketsOf = db.prepare(`SELECT DISTINCT ${BUCKET_SQL("value")} AS bucket FROM json_each(?1)`);
    this.clearBucket = db.prepare("DELETE FROM usage_buckets WHERE bucket = ?1");
    // The hour's range of the index narrows the scan; the bucket expression decides.
    this.fillBucket = db.prepare(`
      INSERT INTO usage_buckets (${BUCKET_COLUMNS}) SELECT ?1, coalesce(model, 'unknown'), ${BUCKET_SUMS_SQL}
      FROM turns
      WHERE at >= substr(?1, 1, 13) AND at < substr(?1, 1, 13) || '~' AND ${BUCKET_SQL("at")} = ?1
      GROUP BY coalesce(model, 'unknown')`);
    // The models from the buckets: a model's calls are its buckets' calls, and its first and last
    // call lie in its first and last bucket, a range of turns_usage_by_at. So no index on
    // turns(model) is kept up at every insert for this.
    this.modelsFromBuckets = db.prepare(`
      SELECT model, sum(calls) AS calls, min(bucket) AS first_bucket, max(bucket) AS last_bucket
      FROM usage_buckets WHERE model <> 'unknown' GROUP BY model`);
    const inBucket = `at >= substr(?2, 1, 13) AND at < substr(?2, 1, 13) || '~' AND model = ?1 AND ${BUCKET_SQL("at")} = ?2`;
    this.firstAtOf = db.prepare(`SELECT min(at) AS at FROM turns WHERE ${inBucket}`);
    this.lastAtOf = db.prepare(`SELECT max(at) AS at FROM turns WHERE ${inBucket}`);
    this.upsertModel = db.prepare(`
      INSERT INTO models (id, provider, family, first_seen, last_seen, calls) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
      ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, family = excluded.family,
        first_seen = excluded.first_seen, last_seen = excluded.last_seen, calls = excluded.calls`);
    // a model whose last turns were in a file that was rewritten
    this.dropModels = db.prepare("DELETE FROM models WHERE id NOT IN (SELECT model FROM usage_buckets)");
  }

  /** Writes what was parsed from one file: its calls, tool uses, results and session facts. */
  writeFile(target: FileTarget, parsed: ParsedFile) {
    this.touchedSessions.add(target.sessionId);
    if (!parsed.session) return;
    this.writeTurns(parsed.turns, target);
    if (parsed.invocationsJson) this.insertInvocations.run(target.sessionId, target.fileId, parsed.invocationsJson);
    if (parsed.resultsJson) this.markResults.run(parsed.resultsJson);
    this.writeSession(target, parsed.session);
  }

  /** What one file says of its session; a bulk load writes its rows on its own. */
  writeSessionFacts(target: FileTarget, parsed: ParsedFile) {
    if (parsed.session) this.writeSession(target, parsed.session);
  }

  /** Removes what was indexed from a file (it was rewritten and is read again from byte 0). */
  forgetFile(fileId: number, sessionId: number) {
    for (const r of this.turnsOfFile.all(fileId, sessionId) as Array<{ id: number; at: string }>) this.touch(r);
    for (const statement of this.forgetStatements) statement.run(fileId, sessionId);
  }

  private touch(r: { id: number; at: string }) {
    this.touchedSessions.add(r.id);
    this.touchedTimes.add(r.at);
  }

  /** Session, model and time-bucket totals, from the turns, for everything this batch touched. */
  finishBatch() {
    if (this.touchedTimes.size) {
      for (const { bucket } of this.bucketsOf.all(JSON.stringify([...this.touchedTimes])) as Array<{ bucket: string }>) {
        this.clearBucket.run(bucket);
        this.fillBucket.run(bucket);
      }
      this.recomputeModels();
    }
    this.touchedTimes.clear();
    for (const id of this.touchedSessions) this.recomputeSession.run(id);
    this.touchedSessions.clear();
  }

  /** Every session, model and time-bucket total summed afresh from the rows: the end of a bulk load. */
  sumEverything() {
    this.db.run("DELETE FROM usage_buckets");
    fillUsageBuckets(this.db);
    this.recomputeModels();
    for (const { id } of this.db.query("SELECT id FROM sessions").all() as Array<{ id: number }>) this.recomputeSession.run(id);
    this.touchedSessions.clear();
    this.touchedTimes.clear();
  }

  private recomputeModels() {
    type Row = { model: string; calls: number; first_bucket: string; last_bucket: string };
    for (const m of this.modelsFromBuckets.all() as Row[]) {
      const { provider, family } = modelFamily(m.model);
      const first = (this.firstAtOf.get(m.model, m.first_bucket) as { at: string }).at;
      const last = (this.lastAtOf.get(m.model, m.last_bucket) as { at: string }).at;
      this.upsertModel.run(m.model, provider, family, first, last, m.calls);
    }
    this.dropModels.run();
  }

  private writeTurns(turns: TurnRow[], target: FileTarget) {
    if (!turns.length) return;
    for (const r of this.existingCalls.all(JSON.stringify(turns)) as Array<{ id: number; at: string }>) this.touch(r);
    const { sessionId, fileId } = target;
    for (const t of turns) {
      this.upsertTurn.run(sessionId, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14], fileId, t[15]);
      this.touchedTimes.add(t[4]);
    }
  }

  private writeSession(target: FileTarget, s: SessionFacts) {
    const m = s.meta;
    this.updateSession.run(
      target.sessionId, target.subagent ? null : (m.agentSessionId ?? null), m.project ?? null, target.subagent ? (m.agentSessionId ?? null) : null,
      target.subagent || m.isSidechain ? 1 : 0, m.agentType ?? null, m.gitBranch ?? null, m.toolVersion ?? null,
      s.firstAt, s.lastAt, s.userMessages, s.compactions, s.firstPrompt, s.lastSummary,
    );
  }
}

/** Provider and family of a model id: claude-sonnet-4-5-20250929 is anthropic / sonnet. */
export function modelFamily(model: string): { provider: string; family: string } {
  const m = model.toLowerCase();
  if (m.startsWith("claude")) {
    const family = /opus|sonnet|haiku/.exec(m)?.[0] ?? "claude";
    return { provider: "anthropic", family };
  }
  if (/^(gpt|o\d|codex|chatgpt)/.test(m)) {
    const family = /^(gpt-[\d.]+|o\d+|codex)/.exec(m)?.[1] ?? m.split("-")[0]!;
    return { provider: "openai", family: family.replace(/^(gpt-\d+)\.\d+$/, "$1") };
  }
  return { provider: "other", family: m.split(/[-/]/)[0] ?? m };
}
