// `sluice index`: brings the deep index up to date with the agents' log files, incrementally. A
// file unchanged in size and mtime is skipped without being opened; one that grew with the same
// identity is read on from its indexed offset; one rewritten is indexed again from byte 0. Only
// complete lines are read: a line still being written waits for the next run.

import type { Database } from "bun:sqlite";
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { FINGERPRINT_BYTES, fingerprintOf } from "../input/fingerprint";
import { parseClaudeLine } from "./claude";
import { newCodexState, parseCodexLine, type CodexState } from "./codex";
import { subagentType, type AgentFile } from "./discover";
import { IndexWriter } from "./index-writer";

export interface IndexSummary {
  files: number;
  skipped: number;
  appended: number;
  reindexed: number;
  added: number;
  bytes: number;
  lines: number;
  malformed: number;
  unknown: number;
  sessions: number;
  turns: number;
  ms: number;
  write_ms: number;
}

interface FileRow {
  id: number;
  path: string;
  session_id: number;
  dev: number;
  ino: number;
  fingerprint: string;
  fingerprint_len: number;
  size: number;
  mtime_ms: number;
  indexed_offset: number;
  state: string | null;
}

/** Bytes of log read per transaction. */
const BATCH_BYTES = 64 << 20;
const LF = 10;

export function indexFiles(db: Database, files: AgentFile[]): IndexSummary {
  const started = performance.now();
  const sum: IndexSummary = { files: files.length, skipped: 0, appended: 0, reindexed: 0, added: 0, bytes: 0, lines: 0, malformed: 0, unknown: 0, sessions: 0, turns: 0, ms: 0, write_ms: 0 };
  const writer = new IndexWriter(db);
  // Every known file in one query: an unchanged tree costs a stat per file and nothing more.
  const known = new Map((db.query("SELECT * FROM agent_files").all() as FileRow[]).map((r) => [r.path, r]));
  const upsertSession = db.prepare(
    `INSERT INTO sessions (agent, session_key, file, parent_session, is_sidechain, agent_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (session_key) DO UPDATE SET file = excluded.file RETURNING id`,
  );
  const insertFile = db.prepare("INSERT INTO agent_files (path, agent, session_id) VALUES (?, ?, ?) RETURNING id");
  const saveFile = db.prepare(
    `UPDATE agent_files SET dev = ?2, ino = ?3, fingerprint = ?4, fingerprint_len = ?5, size = ?6, mtime_ms = ?7, indexed_offset = ?8,
       lines = lines + ?9, malformed = malformed + ?10, unknown = unknown + ?11, state = ?12, indexed_at = ?13 WHERE id = ?1`,
  );
  const resetFile = db.prepare("UPDATE agent_files SET lines = 0, malformed = 0, unknown = 0, indexed_offset = 0, state = NULL WHERE id = ?");
  const resetSession = db.prepare("UPDATE sessions SET first_at = NULL, last_at = NULL, user_messages = 0, compactions = 0, first_prompt = NULL, summary = NULL WHERE id = ?");

  let batchBytes = 0;
  let writeMs = 0;
  db.run("BEGIN IMMEDIATE");
  try {
    for (const f of files) {
      const row = known.get(f.path) ?? null;
      if (row && unchanged(f.path, row)) {
        sum.skipped++;
        continue;
      }
      let fd: number;
      try {
        fd = openSync(f.path, "r");
      } catch {
        continue; // deleted between the listing and now: its sessions stay, as an archive
      }
      try {
        const st = fstatSync(fd);
        const t0 = performance.now();
        let fileId: number, sessionId: number, from = 0, state: string | null = null;
        if (row) {
          fileId = row.id;
          sessionId = row.session_id;
          const sameFile = row.ino === st.ino && row.dev === st.dev && st.size >= row.indexed_offset && fingerprintOf(fd, row.fingerprint_len) === row.fingerprint;
          if (sameFile) {
            from = row.indexed_offset;
            state = row.state;
            sum.appended++;
          } else {
            writer.forgetFile(fileId);
            resetFile.run(fileId);
            resetSession.run(sessionId);
            writer.touchedSessions.add(sessionId);
            sum.reindexed++;
          }
        } else {
          sessionId = (upsertSession.get(f.agent, f.sessionKey, f.path, f.parentSession, f.subagent ? 1 : 0, subagentType(f.metaPath)) as { id: number }).id;
          fileId = (insertFile.get(f.path, f.agent, sessionId) as { id: number }).id;
          sum.added++;
        }
        writeMs += performance.now() - t0;
        const r = indexFile(fd, f, from, st.size, state, writer, { fileId, sessionId, subagent: f.subagent });
        const t1 = performance.now();
        const fpLen = Math.min(st.size, FINGERPRINT_BYTES);
        saveFile.run(fileId, st.dev, st.ino, fingerprintOf(fd, fpLen), fpLen, st.size, st.mtimeMs, r.indexedTo, r.lines, r.malformed, r.unknown, r.state, new Date().toISOString());
        writeMs += performance.now() - t1;
        sum.bytes += r.indexedTo - from;
        sum.lines += r.lines;
        sum.malformed += r.malformed;
        sum.unknown += r.unknown;
        batchBytes += r.indexedTo - from;
      } finally {
        closeSync(fd);
      }
      if (batchBytes >= BATCH_BYTES) {
        const t = performance.now();
        writer.finishBatch();
        db.run("COMMIT");
        db.run("BEGIN IMMEDIATE");
        writeMs += performance.now() - t;
        batchBytes = 0;
      }
    }
    const t = performance.now();
    writer.finishBatch();
    db.run("COMMIT");
    writeMs += performance.now() - t;
    writeMs += writer.writeMs;
  } catch (err) {
    if (db.inTransaction) db.run("ROLLBACK");
    throw err;
  }
  const counts = db.query("SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM turns) AS t").get() as { s: number; t: number };
  sum.sessions = counts.s;
  sum.turns = counts.t;
  sum.ms = Math.round(performance.now() - started);
  sum.write_ms = Math.round(writeMs);
  return sum;
}

/** Same size and mtime as when last indexed (a file that is gone counts as unchanged: it stays archived). */
function unchanged(path: string, row: FileRow): boolean {
  try {
    const st = statSync(path);
    return row.size === st.size && row.mtime_ms === st.mtimeMs;
  } catch {
    return true;
  }
}

interface FileResult {
  indexedTo: number;
  lines: number;
  malformed: number;
  unknown: number;
  state: string | null;
}

/** Parses the complete lines in [from, size) and writes their records. */
function indexFile(fd: number, f: AgentFile, from: number, size: number, stateJson: string | null, writer: IndexWriter, target: { fileId: number; sessionId: number; subagent: boolean }): FileResult {
  const carried = stateJson ? JSON.parse(stateJson) : {};
  const seq: number = carried.seq ?? 0;
  const codex: CodexState = carried.codex ?? newCodexState();
  const buf = Buffer.allocUnsafe(size - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  const sink = writer.fileSink(target, seq);
  const end = buf.lastIndexOf(LF, got - 1) + 1; // only complete lines
  let lines = 0;
  let s = 0;
  while (s < end) {
    const nl = buf.indexOf(LF, s);
    if (nl > s) {
      lines++;
      let o: any;
      try {
        o = JSON.parse(buf.toString("utf8", s, nl));
      } catch {
        o = undefined;
      }
      if (o === null || typeof o !== "object" || Array.isArray(o)) {
        if (buf.subarray(s, nl).toString("latin1").trim() !== "") sink.malformed();
        else lines--;
      } else if (f.agent === "claude") parseClaudeLine(o, from + s, sink);
      else parseCodexLine(o, from + s, codex, sink);
    }
    s = nl + 1;
  }
  if (end > 0 || from === 0) sink.close();
  return {
    indexedTo: from + end, lines, malformed: sink.malformedLines, unknown: sink.unknownLines,
    state: JSON.stringify({ seq: sink.seq, ...(f.agent === "codex" ? { codex } : {}) }),
  };
}
