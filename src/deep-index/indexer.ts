// `sluice index`: brings the deep index up to date with the agents' log files, incrementally. A
// file unchanged in size and mtime is skipped without being opened; one that grew with the same
// identity is read on from its indexed offset; one rewritten is indexed again from byte 0. Only
// complete lines are read: a line still being written waits for the next run.

import type { Database } from "bun:sqlite";
import { closeSync, fstatSync, openSync, statSync, type Stats } from "node:fs";
import { FINGERPRINT_BYTES, fingerprintOf } from "../input/fingerprint";
import { closeQuietly } from "../input/file-follower";
import { workerPath } from "../paths";
import { BulkLoad, deepIndexEmpty } from "./bulk-load";
import { subagentType, type AgentFile } from "./discover";
import { parseFile, type ParseJob, type ParsedFile } from "./file-parser";
import { IndexWriter, type FileTarget } from "./index-writer";
import type { ParseReply } from "./parse-worker";

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
/**
 * Files planned and sent to the parse threads ahead of the one being written: enough that a big
 * file at the head does not leave the other threads without work. Their descriptors stay open
 * until written.
 */
const PARSE_AHEAD_FILES = 32;
/** New bytes above which a run parses in worker threads while this thread writes. */
const PARALLEL_BYTES = 64 << 20;

/** A file to read, with where its rows go and where reading starts. */
interface Planned {
  fd: number;
  st: Stats;
  target: FileTarget;
  job: ParseJob;
}

/** How a run reads and writes. */
export interface IndexOptions {
  /** How many threads parse while this one writes; `always` uses them whatever there is to read. */
  parseThreads: number;
  always?: boolean;
  /**
   * Load without the secondary indexes and build them at the end (bulk-load.ts). Unset: when the
   * index is empty and there is more than PARALLEL_BYTES to read, as on a first index.
   */
  bulk?: boolean;
}

/**
 * Brings the index up to date with `files`. A run with a lot to read (a first index) parses in
 * worker threads, a few files ahead of the one being written; the rows are still written in file
 * order, so the result does not depend on the threads.
 */
export async function indexFiles(db: Database, files: AgentFile[], threads: IndexOptions = { parseThreads: defaultParseThreads() }): Promise<IndexSummary> {
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
  let writeMs = 0;

  // One stat per file: unchanged ones (same size and mtime) are skipped, and the rest say how much
  // there is to read. A file that is gone counts as unchanged: its sessions stay, as an archive.
  const changed: AgentFile[] = [];
  let newBytes = 0;
  for (const f of files) {
    const row = known.get(f.path);
    let st;
    try {
      st = statSync(f.path);
    } catch {
      sum.skipped++;
      continue;
    }
    if (row && row.size === st.size && row.mtime_ms === st.mtimeMs) {
      sum.skipped++;
      continue;
    }
    changed.push(f);
    newBytes += Math.max(0, st.size - (row?.indexed_offset ?? 0));
  }
  const pool = threads.parseThreads > 0 && (threads.always || newBytes >= PARALLEL_BYTES) ? new ParsePool(threads.parseThreads) : null;
  let bulkLoad = changed.length > 0 && (threads.bulk ?? newBytes >= PARALLEL_BYTES) && deepIndexEmpty(db) ? new BulkLoad(db, writer, saveFile) : null;

  // Decides where a changed file's rows go and from where it is read: database work, so here.
  const plan = (f: AgentFile): Planned | null => {
    let fd: number;
    try {
      fd = openSync(f.path, "r");
    } catch {
      return null; // deleted between the listing and now: its sessions stay, as an archive
    }
    const st = fstatSync(fd);
    const row = known.get(f.path) ?? null;
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
        writer.forgetFile(fileId, sessionId);
        resetFile.run(fileId);
        resetSession.run(sessionId);
        sum.reindexed++;
      }
    } else {
      sessionId = (upsertSession.get(f.agent, f.sessionKey, f.path, f.parentSession, f.subagent ? 1 : 0, subagentType(f.metaPath)) as { id: number }).id;
      fileId = (insertFile.get(f.path, f.agent, sessionId) as { id: number }).id;
      sum.added++;
    }
    return { fd, st, target: { fileId, sessionId, subagent: f.subagent }, job: { fd, agent: f.agent, from, size: st.size, state } };
  };

  let batchBytes = 0;
  const inFlight: Array<{ p: Planned; parsed: Promise<ParsedFile> | ParsedFile }> = [];
  let next = 0;
  // A bulk load commits only the files' plans as it goes, and writes the rows in one transaction of its own.
  const writeBulkLoad = (load: BulkLoad) => {
    const t = performance.now();
    db.run("COMMIT");
    load.write();
    writeMs += performance.now() - t;
  };
  db.run("BEGIN IMMEDIATE");
  try {
    while (next < changed.length || inFlight.length) {
      // keep the parse threads busy: a few files ahead of the one being written
      while (next < changed.length && inFlight.length < (pool ? PARSE_AHEAD_FILES : 1)) {
        const t0 = performance.now();
        const p = plan(changed[next++]!);
        writeMs += performance.now() - t0;
        if (p) inFlight.push({ p, parsed: pool ? pool.parse(p.job) : parseFile(p.job) });
      }
      const head = inFlight.shift();
      if (!head) continue;
      const { p } = head;
      try {
        const r = await head.parsed;
        const t1 = performance.now();
        const fpLen = Math.min(p.st.size, FINGERPRINT_BYTES);
        const save = [p.target.fileId, p.st.dev, p.st.ino, fingerprintOf(p.fd, fpLen), fpLen, p.st.size, p.st.mtimeMs, r.indexedTo, r.lines, r.malformed, r.unknown, r.state, new Date().toISOString()];
        if (bulkLoad) bulkLoad.add(p.target, r, r.indexedTo - p.job.from, save);
        else {
          writer.writeFile(p.target, r);
          saveFile.run(...(save as never[]));
        }
        writeMs += performance.now() - t1;
        sum.bytes += r.indexedTo - p.job.from;
        sum.lines += r.lines;
        sum.malformed += r.malformed;
        sum.unknown += r.unknown;
        batchBytes += r.indexedTo - p.job.from;
      } finally {
        closeSync(p.fd);
      }
      if (bulkLoad?.full) {
        writeBulkLoad(bulkLoad);
        bulkLoad = null; // the rest of the run writes file by file, into the indexes now built
        db.run("BEGIN IMMEDIATE");
        batchBytes = 0;
      } else if (batchBytes >= BATCH_BYTES) {
        const t = performance.now();
        writer.finishBatch();
        db.run("COMMIT");
        db.run("BEGIN IMMEDIATE");
        writeMs += performance.now() - t;
        batchBytes = 0;
      }
    }
    if (bulkLoad) writeBulkLoad(bulkLoad);
    else {
      const t = performance.now();
      writer.finishBatch();
      db.run("COMMIT");
      writeMs += performance.now() - t;
    }
  } catch (err) {
    if (db.inTransaction) db.run("ROLLBACK");
    for (const { p } of inFlight) closeQuietly(p.fd);
    throw err;
  } finally {
    pool?.close();
  }
  const counts = db.query("SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM turns) AS t").get() as { s: number; t: number };
  sum.sessions = counts.s;
  sum.turns = counts.t;
  sum.ms = Math.round(performance.now() - started);
  sum.write_ms = Math.round(writeMs);
  return sum;
}

/**
 * As many parse threads as cores, at most 3, beside the writing thread: on two cores, two parse
 * threads beat one (4.6 s against 5.0 s for the 1.1 GB benchmark corpus; 5.6 s with none), since
 * the writer waits on SQLite's I/O part of the time.
 */
export function defaultParseThreads(): number {
  return Math.max(1, Math.min(3, navigator.hardwareConcurrency));
}

/**
 * Worker threads that parse files (parse-worker.ts), each job answered by its id. A job goes to
 * whichever thread is free: file sizes run from 1 KB to 50 MB, and handing them out in turn left
 * one thread idle while the other parsed a big file.
 */
class ParsePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Array<ParseJob & { id: number }> = [];
  private readonly waiting = new Map<number, { resolve: (p: ParsedFile) => void; reject: (e: Error) => void }>();
  private readonly workers: Worker[];
  private nextId = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(workerPath("deep-index/parse-worker.ts"));
      w.onmessage = (e: MessageEvent<ParseReply>) => {
        const r = e.data;
        const waiter = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        this.idle.push(w);
        this.dispatch();
        if ("error" in r) waiter?.reject(new Error(`parsing an agent log in a worker thread failed: ${r.error}`));
        else waiter?.resolve(r.parsed);
      };
      w.onerror = (e) => {
        for (const waiter of this.waiting.values()) waiter.reject(new Error(`a parse worker thread failed: ${e.message}`));
        this.waiting.clear();
      };
      this.idle.push(w);
      return w;
    });
  }

  parse(job: ParseJob): Promise<ParsedFile> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.queue.push({ ...job, id });
      this.dispatch();
    });
  }

  private dispatch() {
    while (this.idle.length && this.queue.length) this.idle.pop()!.postMessage(this.queue.shift()!);
  }

  close() {
    for (const w of this.workers) w.terminate();
  }
}
