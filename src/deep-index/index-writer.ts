// The one writer of the deep index: every statement that changes its tables is prepared here, once.
// It records the files (agent_files) and their sessions, writes what the parser made of one agent
// log file (see file-parser.ts), and recomputes the session, model and time-bucket totals from the
// turns once per batch, for what the batch touched. A first index writes its turns and tool uses
// through bulk-load.ts instead, and sums everything once at its end.

import type { Database, Statement } from "bun:sqlite";
import { ArchiveWriter } from "../archive/archive-writer";
import type { ArchivedBytes } from "../archive/chunks";
import { subagentType, type AgentFile } from "./discover";
import * as SQL from "./index-sql";
import { UNDATED } from "./timestamps";
import { fillUsageBuckets } from "./usage-buckets";
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
  readonly touchedSessions = new Set<number>();
  /** Times of the turns written or removed in this batch: their usage buckets are summed again. */
  readonly touchedTimes = new Set<string>();
  private readonly existingCalls: Statement;
  private readonly turnsOfFile: Statement;
  private readonly forgetStatements: Statement[];
  private readonly bucketsOf: Statement;
  private readonly clearBucket: Statement;
  private readonly fillBucket: Statement;
  private readonly fillUndated: Statement;
  private readonly dateWaiting: Statement;
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
  private readonly upsertSession: Statement;
  private readonly insertFile: Statement;
  private readonly saveFile: Statement;
  private readonly resetFile: Statement;
  private readonly moveFileRow: Statement;
  private readonly moveSessionFile: Statement;
  private readonly resetSession: Statement;

  constructor(readonly db: Database) {
    this.archive = new ArchiveWriter(db);
    this.upsertSession = db.prepare(SQL.UPSERT_SESSION_SQL);
    this.insertFile = db.prepare(SQL.INSERT_FILE_SQL);
    this.saveFile = db.prepare(SQL.SAVE_FILE_SQL);
    this.resetFile = db.prepare(SQL.RESET_FILE_SQL);
    this.moveFileRow = db.prepare(SQL.MOVE_FILE_SQL);
    this.moveSessionFile = db.prepare(SQL.MOVE_SESSION_FILE_SQL);
    this.resetSession = db.prepare(SQL.RESET_SESSION_SQL);
    this.existingCalls = db.prepare(SQL.EXISTING_CALLS_SQL);
    this.upsertTurn = db.prepare(SQL.UPSERT_TURN_SQL);
    this.insertInvocations = db.prepare(SQL.INSERT_INVOCATIONS_SQL);
    this.markResults = db.prepare(SQL.MARK_RESULTS_SQL);
    this.updateSession = db.prepare(SQL.UPDATE_SESSION_SQL);
    this.recomputeSession = db.prepare(SQL.RECOMPUTE_SESSION_SQL);
    this.turnsOfFile = db.prepare(SQL.TURNS_OF_FILE_SQL);
    this.forgetStatements = [db.prepare(SQL.FORGET_INVOCATIONS_SQL), db.prepare(SQL.FORGET_TURNS_SQL)];
    this.bucketsOf = db.prepare(SQL.BUCKETS_OF_SQL);
    this.clearBucket = db.prepare(SQL.CLEAR_BUCKET_SQL);
    this.fillBucket = db.prepare(SQL.FILL_BUCKET_SQL);
    this.fillUndated = db.prepare(SQL.FILL_UNDATED_SQL);
    this.dateWaiting = db.prepare(SQL.DATE_WAITING_SQL);
    this.modelsFromBuckets = db.prepare(SQL.MODELS_FROM_BUCKETS_SQL);
    this.firstAtOf = db.prepare(SQL.FIRST_AT_OF_SQL);
    this.lastAtOf = db.prepare(SQL.LAST_AT_OF_SQL);
    this.upsertModel = db.prepare(SQL.UPSERT_MODEL_SQL);
    this.dropModels = db.prepare(SQL.DROP_MODELS_SQL);
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
    this.moveFileRow.run(target.fileId, path);
    this.moveSessionFile.run(target.sessionId, path);
  }

  /** A file seen for the first time: its session (new, or the one its key names) and its row. */
  addFile(f: AgentFile): FileTarget {
    const sessionId = (this.upsertSession.get(f.agent, f.sessionKey, f.path, f.parentSession, f.subagent ? 1 : 0, subagentType(f.metaPath)) as { id: number }).id;
    const fileId = (this.insertFile.get(f.path, f.agent, sessionId) as { id: number }).id;
    return { fileId, sessionId, subagent: f.subagent };
  }

  /** A file rewritten since it was read: its rows and its session's facts go, and it is read again from byte 0. */
  restartFile(target: FileTarget) {
    this.forgetFile(target.fileId, target.sessionId);
    this.resetFile.run(target.fileId);
    this.resetSession.run(target.sessionId);
    this.archive.restart(target.fileId); // whether this run archives or not: the old content stays an earlier generation
  }

  /** Saves how far a file has been read: in the transaction that holds its rows. */
  saveProgress(p: FileProgress) {
    this.saveFile.run(p.fileId, p.dev, p.ino, p.fingerprint, p.fingerprintLen, p.size, p.mtimeMs, p.indexedTo, p.lines, p.malformed, p.unknown, p.state,
      new Date().toISOString(), p.tailFingerprint);
    if (p.archive) this.archive.saveProgress(p.fileId, p.archive);
  }

  /** Writes what was parsed from one file: its calls, tool uses, results and session facts. */
  writeFile(target: FileTarget, parsed: ParsedFile) {
    this.touchedSessions.add(target.sessionId);
    if (!parsed.session) return;
    if (parsed.datesEarlier !== null && this.dateWaiting.run(target.fileId, target.sessionId, parsed.datesEarlier).changes) {
      this.touchedTimes.add(UNDATED);
      this.touchedTimes.add(parsed.datesEarlier);
    }
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
  private forgetFile(fileId: number, sessionId: number) {
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
        if (bucket === UNDATED) this.fillUndated.run();
        else this.fillBucket.run(bucket);
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
      this.upsertTurn.run(sessionId, t[Turn.seq], t[Turn.messageId], t[Turn.requestId], t[Turn.model], t[Turn.at], t[Turn.input], t[Turn.output],
        t[Turn.cacheRead], t[Turn.cacheWrite5m], t[Turn.cacheWrite1h], t[Turn.reasoning], t[Turn.total], t[Turn.serviceTier], t[Turn.stopReason],
        t[Turn.sidechain], fileId, t[Turn.offset]);
      this.touchedTimes.add(t[Turn.at]);
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
