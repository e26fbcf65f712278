// The one writer of the deep index: every statement that changes its tables is prepared here, once.
// It records the files (agent_files) and their sessions, writes what the parser made of one agent
// log file (see file-parser.ts), and recomputes the session, model and time-bucket totals from the
// turns once per batch, for what the batch touched. A first index writes its turns and tool uses
// through bulk-load.ts instead, and sums everything once at its end.

import type { Database } from "bun:sqlite";
import { ArchiveWriter } from "../archive/archive-writer";
import type { ArchivedBytes } from "../archive/chunks";
import { subagentType, type AgentFile } from "./discover";
import * as SQL from "./index-sql";
import { UNDATED } from "./timestamps";
import { fillUsageBuckets } from "./usage-buckets";
import { lazyStatements } from "../db/statements";
import { CLEAR_SESSION_USAGE_SQL, fillSessionUsage, FILL_SESSION_USAGE_SQL } from "./session-usage";
import { Turn, type ParsedFile, type SessionFacts, type TurnRow } from "./file-parser";

export interface FileTarget {
  fileId: number;
  sessionId: number;
  /** A subagent's transcript: its lines' sessionId is the parent's. */
  subagent: boolean;
}

/** An agent_files row: a file the index has read, and how far. */
export interface KnownFile {
  id: number;
  path: string;
  session_id: number;
  /** Null in a row planned but never read (a run stopped or killed before it got to the file). */
  dev: number | null;
  ino: number | null;
  fingerprint: string;
  fingerprint_len: number;
  size: number;
  mtime_ms: number;
  indexed_offset: number;
  state: string | null;
  tail_fingerprint: string | null;
  /** How far the archive holds the file's latest generation; null: nothing archived. */
  archived_to: number | null;
}

/** How far a file has been read, saved in the same transaction as its rows. */
export interface FileProgress {
  fileId: number;
  dev: number;
  ino: number;
  fingerprint: string;
  fingerprintLen: number;
  /** Hash of the bytes just before indexedTo. */
  tailFingerprint: string;
  size: number;
  mtimeMs: number;
  indexedTo: number;
  lines: number;
  malformed: number;
  unknown: number;
  state: string;
  /** The archive's end and tail, when the run archives: saved with the offset. */
  archive?: ArchivedBytes | null;
}

export class IndexWriter {
  /** The archive's statements (archive/archive-writer.ts), run in this writer's transactions. */
  readonly archive: ArchiveWriter;
  /** Prepared on first use (db/statements.ts): a run that finds nothing changed prepares none. */
  private readonly st;
  readonly touchedSessions = new Set<number>();
  /** Times of the turns changed or removed in this batch: their usage buckets are summed again. */
  readonly touchedTimes = new Set<string>();
  /** Turns new in this batch: added to their usage buckets (unless those are summed again). */
  private readonly newTurns = new Set<number>();

  constructor(readonly db: Database) {
    this.archive = new ArchiveWriter(db);
    this.st = lazyStatements(db, {
      upsertSession: SQL.UPSERT_SESSION_SQL,
      insertFile: SQL.INSERT_FILE_SQL,
      saveFile: SQL.SAVE_FILE_SQL,
      resetFile: SQL.RESET_FILE_SQL,
      moveFileRow: SQL.MOVE_FILE_SQL,
      moveSessionFile: SQL.MOVE_SESSION_FILE_SQL,
      resetSession: SQL.RESET_SESSION_SQL,
      existingCalls: SQL.EXISTING_CALLS_SQL,
      upsertTurn: SQL.UPSERT_TURN_SQL,
      insertInvocations: SQL.INSERT_INVOCATIONS_SQL,
      markResults: SQL.MARK_RESULTS_SQL,
      updateSession: SQL.UPDATE_SESSION_SQL,
      recomputeSession: SQL.RECOMPUTE_SESSION_SQL,
      clearSessionUsage: CLEAR_SESSION_USAGE_SQL,
      fillSessionUsage: FILL_SESSION_USAGE_SQL,
      turnsOfFile: SQL.TURNS_OF_FILE_SQL,
      forgetInvocations: SQL.FORGET_INVOCATIONS_SQL,
      forgetTurns: SQL.FORGET_TURNS_SQL,
      bucketsOf: SQL.BUCKETS_OF_SQL,
      clearBucket: SQL.CLEAR_BUCKET_SQL,
      fillBucket: SQL.FILL_BUCKET_SQL,
      fillUndated: SQL.FILL_UNDATED_SQL,
      addToBuckets: SQL.ADD_TO_BUCKETS_SQL,
      dateWaiting: SQL.DATE_WAITING_SQL,
      modelsFromBuckets: SQL.MODELS_FROM_BUCKETS_SQL,
      firstAtOf: SQL.FIRST_AT_OF_SQL,
      lastAtOf: SQL.LAST_AT_OF_SQL,
      upsertModel: SQL.UPSERT_MODEL_SQL,
      dropModels: SQL.DROP_MODELS_SQL,
      newCallsModels: SQL.NEW_CALLS_MODELS_SQL,
      widenModel: SQL.WIDEN_MODEL_SQL,
    });
  }

  /**
   * The files the index has read, in id order: every one, or (for a run over a few named files)
   * the rows of their paths and inodes, found through indexes instead of reading every row.
   */
  knownFiles(only?: AgentFile[]): KnownFile[] {
    if (!only) return this.db.query(SQL.KNOWN_FILES_SQL).all() as KnownFile[];
    const paths = JSON.stringify(only.map((f) => f.path)), inodes = JSON.stringify(only.map((f) => [f.listed.dev, f.listed.ino]));
    return this.db.query(SQL.KNOWN_FILES_OF_SQL).all(paths, inodes) as KnownFile[];
  }

  /** A file found under a new path (renamed, or its directory renamed): its row and session go with it. */
  moveFile(target: FileTarget, path: string) {
    this.st.moveFileRow.run(target.fileId, path);
    this.st.moveSessionFile.run(target.sessionId, path);
  }

  /** A file seen for the first time: its session (new, or the one its key names) and its row. */
  addFile(f: AgentFile): FileTarget {
    const sessionId = (this.st.upsertSession.get(f.agent, f.sessionKey, f.path, f.parentSession, f.subagent ? 1 : 0, subagentType(f.metaPath)) as { id: number }).id;
    const fileId = (this.st.insertFile.get(f.path, f.agent, sessionId) as { id: number }).id;
    return { fileId, sessionId, subagent: f.subagent };
  }

  /** A file rewritten since it was read: its rows and its session's facts go, and it is read again from byte 0. */
  restartFile(target: FileTarget) {
    this.forgetFile(target.fileId, target.sessionId);
    this.st.resetFile.run(target.fileId);
    this.st.resetSession.run(target.sessionId);
    this.archive.restart(target.fileId, target.sessionId); // whether this run archives or not: the old content stays an earlier generation
  }

  /** Saves how far a file has been read: in the transaction that holds its rows. */
  saveProgress(p: FileProgress) {
    this.st.saveFile.run(p.fileId, p.dev, p.ino, p.fingerprint, p.fingerprintLen, p.size, p.mtimeMs, p.indexedTo, p.lines, p.malformed, p.unknown, p.state,
      new Date().toISOString(), p.tailFingerprint);
    if (p.archive) this.archive.saveProgress(p.fileId, p.archive);
  }

  /** Writes what was parsed from one file: its calls, tool uses, results and session facts. */
  writeFile(target: FileTarget, parsed: ParsedFile) {
    this.touchedSessions.add(target.sessionId);
    if (!parsed.session) return;
    if (parsed.datesEarlier !== null && this.st.dateWaiting.run(target.fileId, target.sessionId, parsed.datesEarlier).changes) {
      this.touchedTimes.add(UNDATED);
      this.touchedTimes.add(parsed.datesEarlier);
    }
    this.writeTurns(parsed.turns, target);
    if (parsed.invocationsJson) this.st.insertInvocations.run(target.sessionId, target.fileId, parsed.invocationsJson);
    if (parsed.resultsJson) this.st.markResults.run(parsed.resultsJson);
    this.writeSession(target, parsed.session);
  }

  /** What one file says of its session; a bulk load writes its rows on its own. */
  writeSessionFacts(target: FileTarget, parsed: ParsedFile) {
    if (parsed.session) this.writeSession(target, parsed.session);
  }

  /** Removes what was indexed from a file (it was rewritten and is read again from byte 0). */
  private forgetFile(fileId: number, sessionId: number) {
    for (const r of this.st.turnsOfFile.all(fileId, sessionId) as Array<{ id: number; at: string }>) this.touch(r);
    for (const statement of [this.st.forgetInvocations, this.st.forgetTurns]) statement.run(fileId, sessionId);
  }

  private touch(r: { id: number; at: string }) {
    this.touchedSessions.add(r.id);
    this.touchedTimes.add(r.at);
  }

  /** Session (with its usage per model), model and time-bucket totals, from the turns, for everything this batch touched. */
  finishBatch() {
    if (this.touchedTimes.size || this.newTurns.size) {
      const summed = (this.st.bucketsOf.all(JSON.stringify([...this.touchedTimes])) as Array<{ bucket: string }>).map((b) => b.bucket);
      for (const bucket of summed) {
        this.st.clearBucket.run(bucket);
        if (bucket === UNDATED) this.st.fillUndated.run();
        else this.st.fillBucket.run(bucket);
      }
      const added = JSON.stringify([...this.newTurns]);
      if (this.newTurns.size) this.st.addToBuckets.run(added, JSON.stringify(summed));
      if (summed.length) this.recomputeModels();
      else this.widenModels(added);
    }
    this.touchedTimes.clear();
    this.newTurns.clear();
    for (const id of this.touchedSessions) {
      this.st.recomputeSession.run(id);
      this.st.clearSessionUsage.run(id);
      this.st.fillSessionUsage.run(id);
    }
    this.touchedSessions.clear();
  }

  /** Every session, model and time-bucket total summed afresh from the rows: the end of a bulk load. */
  sumEverything() {
    this.db.run("DELETE FROM usage_buckets");
    fillUsageBuckets(this.db);
    fillSessionUsage(this.db);
    this.recomputeModels();
    for (const { id } of this.db.query("SELECT id FROM sessions").all() as Array<{ id: number }>) this.st.recomputeSession.run(id);
    this.touchedSessions.clear();
    this.touchedTimes.clear();
    this.newTurns.clear();
  }

  /** The models of the batch's new calls, when it only added calls: their times and counts widened. */
  private widenModels(newTurnsJson: string) {
    for (const m of this.st.newCallsModels.all(newTurnsJson) as Array<{ model: string; first: string | null; last: string | null }>) {
      const { provider, family } = modelFamily(m.model);
      this.st.widenModel.run(m.model, provider, family, m.first, m.last);
    }
  }

  private recomputeModels() {
    type Row = { model: string; calls: number; first_bucket: string; last_bucket: string };
    for (const m of this.st.modelsFromBuckets.all() as Row[]) {
      const { provider, family } = modelFamily(m.model);
      const first = (this.st.firstAtOf.get(m.model, m.first_bucket) as { at: string }).at;
      const last = (this.st.lastAtOf.get(m.model, m.last_bucket) as { at: string }).at;
      this.st.upsertModel.run(m.model, provider, family, first, last, m.calls);
    }
    this.st.dropModels.run();
  }

  private writeTurns(turns: TurnRow[], target: FileTarget) {
    if (!turns.length) return;
    // A call already in the index that the upsert changes moves its old and its new time's
    // buckets (both summed again), and its old session's sums; one the upsert leaves as it was (a
    // resumed or copied transcript's history, read again) moves nothing. A new call is added to
    // its bucket. Every bucket stays the sum of its calls either way.
    const existing = new Map<number, { id: number; at: string }>();
    for (const r of this.st.existingCalls.all(JSON.stringify(turns)) as Array<{ id: number; at: string; turn: number }>) existing.set(r.turn, r);
    const { sessionId, fileId } = target;
    for (const t of turns) {
      const row = this.st.upsertTurn.get(sessionId, t[Turn.seq], t[Turn.messageId], t[Turn.requestId], t[Turn.model], t[Turn.at], t[Turn.input], t[Turn.output],
        t[Turn.cacheRead], t[Turn.cacheWrite5m], t[Turn.cacheWrite1h], t[Turn.reasoning], t[Turn.total], t[Turn.serviceTier], t[Turn.stopReason],
        t[Turn.sidechain], fileId, t[Turn.offset]) as { id: number; at: string } | null;
      if (row === null) continue; // kept the row there was (a better copy of the call)
      const before = existing.get(row.id);
      if (before) {
        this.touch(before);
        this.touchedTimes.add(row.at);
      } else this.newTurns.add(row.id);
    }
  }

  private writeSession(target: FileTarget, s: SessionFacts) {
    const m = s.meta;
    this.st.updateSession.run(
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
