// `sluice index`: brings the deep index up to date with the agents' log files, incrementally. A
// file unchanged in size and mtime is skipped without being opened; one that grew with the same
// identity is read on from its indexed offset; one rewritten is indexed again from byte 0. Only
// complete lines are read: a line still being written waits for the next run.

import type { Database } from "bun:sqlite";
import { closeSync, fstatSync, openSync, type Stats } from "node:fs";
import { closeQuietly } from "../input/file-follower";
import { fingerprintLength, fingerprintOf, sameContent, sameInode, sameTail, tailFingerprintOf } from "../input/file-identity";
import { BulkLoad, deepIndexEmpty } from "./bulk-load";
import { removeLeftSearchBuild } from "../archive/search-index-build";
import type { AgentFile } from "./discover";
import { parseFile, type ParseJob, type ParsedFile } from "./file-parser";
import { IndexWriter, type FileProgress, type FileTarget } from "./index-writer";
import { KnownFiles, type FileMatch } from "./known-files";
import { defaultParseThreads, ParsePool } from "./parse-pool";
import { yieldToSignals } from "../runtime/signals";
import { isBusy, rollbackJournalForBulk } from "../db/settings";

export { defaultParseThreads } from "./parse-pool";

export interface IndexSummary {
  files: number;
  /** Files read for the first time. */
  new: number;
  /** Files read on from their indexed offset. */
  grown: number;
  /** Files read again from byte 0 (their content changed before the indexed offset). */
  rewritten: number;
  /** Files with nothing new to read. */
  unchanged: number;
  bytes: number;
  lines: number;
  malformed: number;
  unknown: number;
  sessions: number;
  turns: number;
  ms: number;
  writeMs: number;
  /** Sessions with bytes the archive lacks (indexed with --no-archive) and whose files are gone: no content left to archive. */
  unarchived: string[];
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
  /**
   * The files are only some of the tree (the ones a watch named): the plan reads the rows of
   * those files, not every row.
   */
  some?: boolean;
  /** How many threads parse while this one writes; `always` uses them whatever there is to read. */
  parseThreads: number;
  always?: boolean;
  /**
   * Load without the secondary indexes and build them at the end (bulk-load.ts). Unset: when the
   * index is empty and there is more than PARALLEL_BYTES to read, as on a first index.
   */
  bulk?: boolean;
  /** A stop request (SIGINT, SIGTERM): the run ends after the file being written, with what was written committed. */
  stop?: { readonly stopped: boolean };
  /** Keep the files' bytes in the archive (archive/); false: counts only (--no-archive). Default true. */
  archive?: boolean;
  /**
   * A bulk load is not started here but announced, before anything is written, by throwing
   * BulkLoadAhead: the caller runs it again in a process of its own (runtime/exec-self.ts,
   * bulkEnv).
   */
  announceBulkLoad?: boolean;
}

/**
 * Thrown by a run with `announceBulkLoad` when its plan is a bulk load: before any parse thread
 * starts and before anything is written (the run's transaction is rolled back, its claim released
 * on the way out).
 */
export class BulkLoadAhead extends Error {
  constructor() {
    super("a bulk load is ahead");
  }
}

/** Where a stopped run ended: the files (and their bytes) written and committed, of those it had to read. */
export interface IndexInterruption {
  files: number;
  ofFiles: number;
  bytes: number;
  ofBytes: number;
}

/**
 * Brings the index up to date with `files`. A run with a lot to read (a first index) parses in
 * worker threads, a few files ahead of the one being written; the rows are still written in file
 * order, so the result does not depend on the threads.
 */
export async function indexFiles(
  db: Database, files: AgentFile[], threads: IndexOptions = { parseThreads: defaultParseThreads() },
): Promise<IndexSummary & { interrupted?: IndexInterruption }> {
  return runToEnd(new IndexRun(db, files), threads);
}

async function runToEnd(run: IndexRun, threads: IndexOptions): Promise<IndexSummary & { interrupted?: IndexInterruption }> {
  await run.write(threads);
  if (!threads.stop?.stopped) return run.summary();
  return { ...run.summary(), interrupted: run.interruption() };
}

/**
 * An index run planned before the writer's claim is taken: `quiet` (its summary) when it would
 * write nothing (every file as indexed, no index left to build by a bulk load, and `nothingElse`,
 * the caller's other work: the flows), so that a re-index of an unchanged tree takes no claim and
 * commits nothing (the claim and its release were two commits, and a checkpoint as the connection
 * closed). Otherwise `write` runs it once the claim is held, and reads the plan again only if
 * another connection committed since (PRAGMA data_version). The look never waits for a lock: a
 * database locked at that moment (a bulk load's rollback journal) leaves the plan to `write`.
 */
export function planIndex(
  db: Database, files: AgentFile[], threads: IndexOptions, nothingElse: () => boolean,
): { quiet: IndexSummary } | { write: () => Promise<IndexSummary & { interrupted?: IndexInterruption }> } {
  const run = new IndexRun(db, files);
  const timeout = (db.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout;
  db.run("PRAGMA busy_timeout = 0");
  try {
    if (run.lookAhead(threads) && nothingElse()) return { quiet: run.summary() };
  } catch (err) {
    if (!isBusy(err)) throw err; // the plan stays unread (plannedAt null): write() reads it
  } finally {
    db.run(`PRAGMA busy_timeout = ${timeout}`);
  }
  return { write: () => runToEnd(run, threads) };
}

/** One index run: the files that changed, planned, parsed and written in file order. */
class IndexRun {
  private readonly started = performance.now();
  private readonly sum: IndexSummary;
  private readonly writer: IndexWriter;
  /** Each changed file with the rows it may be. */
  private readonly changed: FileMatch[] = [];
  private newBytes = 0;
  private writeMs = 0;
  private batchBytes = 0;
  /** Files whose rows were written (held by a bulk load, or in the batch): all committed by the end of write(). */
  private written = 0;
  private lastYield = performance.now();
  private archiving = true;
  /** Set while a bulk load runs in a rollback journal: goes back to WAL (once). */
  private backToWalOnce: () => void = () => {};
  /** The data_version the plan was read at before the claim (lookAhead), or null: none read yet. */
  private plannedAt: number | null = null;

  constructor(
    private readonly db: Database,
    private readonly files: AgentFile[],
  ) {
    this.sum = { files: files.length, new: 0, grown: 0, rewritten: 0, unchanged: 0, bytes: 0, lines: 0, malformed: 0, unknown: 0, sessions: 0, turns: 0, ms: 0, writeMs: 0, unarchived: [] };
    this.writer = new IndexWriter(db);
  }

  /**
   * Reads the plan: what the index holds of each file, and which files changed (afresh: a plan
   * read ahead is replaced). Inside a transaction, so that the plan is the one the writes apply to. Every known file in
   * one query: an unchanged tree costs the listing's stat per file and nothing more.
   */
  private readPlan(some: boolean) {
    this.changed.length = 0;
    this.newBytes = 0;
    this.sum.unchanged = 0;
    this.sum.unarchived = [];
    const rows = this.writer.knownFiles(some ? this.files : undefined);
    const matches = new KnownFiles(rows).match(this.files);
    for (const m of matches) this.consider(m);
    if (this.archiving && !some) this.sum.unarchived = this.writer.archive.unarchivable(rows, new Set(matches.map((m) => m.byInode?.id)));
  }

  /**
   * Reads the plan in a read transaction, before the claim (planIndex): true when it holds nothing
   * to write. The plan is kept, with the database's data_version, for write().
   */
  lookAhead(threads: IndexOptions): boolean {
    this.archiving = threads.archive !== false;
    return this.db.transaction(() => {
      if (this.writer.archive.rebuildPending()) return false;
      this.readPlan(threads.some === true);
      this.plannedAt = this.dataVersion();
      return this.changed.length === 0;
    })();
  }

  private dataVersion(): number {
    return (this.db.query("PRAGMA data_version").get() as { data_version: number }).data_version;
  }

  /**
   * Unchanged files (the same path, size and mtime as read) are skipped, and the rest say how much
   * there is to read. A file that is gone is not listed: its sessions stay, as an archive.
   */
  private consider(m: FileMatch) {
    const st = m.f.listed, row = m.byInode;
    // archiving switched on after runs without it: the file is read for the archive alone
    const archiveLags = this.archiving && row !== null && (row.archived_to === null || row.archived_to < row.indexed_offset);
    if (row && row.path === m.f.path && row.size === st.size && row.mtime_ms === st.mtimeMs && !archiveLags) {
      this.sum.unchanged++;
      return;
    }
    this.changed.push(m);
    this.newBytes += Math.max(0, st.size - (row?.indexed_offset ?? 0));
  }

  /**
   * Parses and writes every changed file, in batches of BATCH_BYTES (or one bulk load). A stop
   * request ends it after the file being written: the parse threads go, the files planned but not
   * yet written are left for the next run (read from where their rows say), and what was written
   * is committed, as at the end of a batch.
   */
  async write(threads: IndexOptions) {
    const { db, changed } = this;
    const stopped = () => threads.stop?.stopped === true;
    this.archiving = threads.archive !== false;
    db.run("BEGIN IMMEDIATE");
    let pool: ParsePool | null = null;
    const inFlight: Array<{ p: Planned; parsed: Promise<ParsedFile> | ParsedFile }> = [];
    let next = 0;
    try {
      removeLeftSearchBuild(db);
      this.writer.archive.rebuildSearchIndexIfPending(); // a bulk load was killed: before any message is deleted
      // the plan read ahead holds while no other connection committed since (the claim is this one's own commit)
      if (this.plannedAt === null || this.plannedAt !== this.dataVersion()) this.readPlan(threads.some === true);
      const bulk = changed.length > 0 && (threads.bulk ?? this.newBytes >= PARALLEL_BYTES) && deepIndexEmpty(db);
      if (bulk && threads.announceBulkLoad) throw new BulkLoadAhead();
      pool = threads.parseThreads > 0 && (threads.always || this.newBytes >= PARALLEL_BYTES) ? new ParsePool(threads.parseThreads) : null;
      let bulkLoad = bulk ? new BulkLoad(db, this.writer) : null;
      if (bulkLoad && this.archiving) this.bulkJournal();
      while ((next < changed.length || inFlight.length) && !stopped()) {
        // keep the parse threads busy: a few files ahead of the one being written
        while (next < changed.length && inFlight.length < (pool ? PARSE_AHEAD_FILES : 1)) {
          const m = changed[next++]!;
          const p = this.timed(() => this.plan(m));
          if (p) inFlight.push({ p, parsed: pool ? pool.parse(p.job) : parseFile(p.job) });
        }
        const head = inFlight.shift();
        if (!head) continue;
        await this.writeParsed(head.p, head.parsed, bulkLoad);
        this.written++;
        if (bulkLoad?.full) {
          this.writeBulkLoad(bulkLoad);
          bulkLoad = null; // the rest of the run writes file by file, into the indexes now built
          db.run("BEGIN IMMEDIATE");
          this.batchBytes = 0;
        } else if (this.batchBytes >= BATCH_BYTES) this.timed(() => this.commitBatch(true));
        if (threads.stop) await this.yieldIfDue();
      }
      if (stopped()) {
        pool?.close(); // before their files are closed: a thread may be reading one
        pool = null;
        for (const { p } of inFlight.splice(0)) closeQuietly(p.fd);
      }
      if (bulkLoad) this.writeBulkLoad(bulkLoad);
      else this.timed(() => this.commitBatch(false));
    } catch (err) {
      if (db.inTransaction) db.run("ROLLBACK");
      for (const { p } of inFlight) closeQuietly(p.fd);
      throw err;
    } finally {
      pool?.close();
      this.backToWalOnce();
    }
  }

  /**
   * A first index that archives commits its pieces and messages in batches before its final
   * transaction: in a rollback journal, their pages (appended, so never journaled) are written
   * once, into the database, not into the WAL and again by its checkpoints (settings.ts).
   */
  private bulkJournal() {
    this.db.run("COMMIT"); // the journal mode changes outside a transaction; the writer claim keeps other index runs out
    const back = rollbackJournalForBulk(this.db);
    this.backToWalOnce = () => {
      this.backToWalOnce = () => {};
      back();
    };
    this.db.run("BEGIN IMMEDIATE");
  }

  /**
   * Decides where a changed file's rows go and from where it is read. The file the row recorded
   * (its inode, with the same first bytes) is read on from the indexed offset when the bytes before
   * it are unchanged, under a new path if it was renamed; rewritten, it is read again from byte 0
   * in its own row, renamed or not. A file at a recorded path with other content is read again in
   * that path's row; a file whose inode only matched a row of other first bytes is a new file.
   */
  private plan({ f, byInode, atPath }: FileMatch): Planned | null {
    let fd: number;
    try {
      fd = openSync(f.path, "r");
    } catch {
      return null; // deleted between the listing and now: its sessions stay, as an archive
    }
    const st = fstatSync(fd);
    const row = byInode !== null && sameInode(byInode, st) && sameContent(fd, byInode) ? byInode : null;
    let target: FileTarget, from = 0, state: string | null = null;
    if (row && st.size >= row.indexed_offset && sameTail(fd, row.indexed_offset, row.tail_fingerprint)) {
      target = { fileId: row.id, sessionId: row.session_id, subagent: f.subagent };
      if (row.path !== f.path) this.writer.moveFile(target, f.path);
      from = row.indexed_offset;
      state = row.state;
      // touched (a new mtime) or renamed, with nothing new to read: unchanged, as a person counts it
      if (st.size > from) this.sum.grown++;
      else this.sum.unchanged++;
    } else if (row || atPath) {
      // rewritten since it was read. Renamed too, it is still the inode's row that goes: a new row
      // would leave the old content counted beside the new.
      const known = row ?? atPath!;
      target = { fileId: known.id, sessionId: known.session_id, subagent: f.subagent };
      if (known.path !== f.path) this.writer.moveFile(target, f.path);
      this.writer.restartFile(target);
      // a row never read (planned by a run stopped before it got to the file) is a new file, as a person counts it
      if (known.ino === null) this.sum.new++;
      else this.sum.rewritten++;
    } else {
      target = this.writer.addFile(f);
      this.sum.new++;
    }
    const archive = this.archiving ? this.writer.archive.job(target.fileId, from) : null;
    return { fd, st, target, job: { fd, agent: f.agent, from, size: st.size, state, archive } };
  }

  /** Writes one parsed file's rows and its progress (or hands them to the bulk load). */
  private async writeParsed(p: Planned, parsed: Promise<ParsedFile> | ParsedFile, bulkLoad: BulkLoad | null) {
    try {
      const r = await parsed;
      const t1 = performance.now();
      const fpLen = fingerprintLength(p.st.size);
      const progress: FileProgress = {
        fileId: p.target.fileId, dev: p.st.dev, ino: p.st.ino, fingerprint: fingerprintOf(p.fd, fpLen), fingerprintLen: fpLen,
        tailFingerprint: tailFingerprintOf(p.fd, r.indexedTo), size: p.st.size,
        mtimeMs: p.st.mtimeMs, indexedTo: r.indexedTo, lines: r.lines, malformed: r.malformed, unknown: r.unknown, state: r.state, archive: r.archive,
      };
      if (r.archive) {
        if (bulkLoad) this.writer.archive.beginBulk();
        this.writer.archive.writeChunks(p.target.fileId, r.archive);
        this.writer.archive.writeMessages(p.target.fileId, p.target.sessionId, r.archive);
      }
      const bytes = r.indexedTo - p.job.from;
      if (bulkLoad) bulkLoad.add(p.target, r, bytes, progress);
      else {
        this.writer.writeFile(p.target, r);
        this.writer.saveProgress(progress);
      }
      this.writeMs += performance.now() - t1;
      this.sum.bytes += bytes;
      this.sum.lines += r.lines;
      this.sum.malformed += r.malformed;
      this.sum.unknown += r.unknown;
      this.batchBytes += bytes;
    } finally {
      closeSync(p.fd);
    }
  }

  /** Sums the batch's totals and commits; with `more`, opens the next batch's transaction. */
  private commitBatch(more: boolean) {
    this.writer.finishBatch();
    this.db.run("COMMIT");
    if (more) this.db.run("BEGIN IMMEDIATE");
    this.batchBytes = 0;
  }

  /** A bulk load commits only the files' plans as it goes, and writes the rows in one transaction of its own. */
  private writeBulkLoad(load: BulkLoad) {
    this.timed(() => {
      this.db.run("COMMIT");
      load.write();
      this.backToWalOnce();
    });
  }

  /** Lets a stop signal's handler run, every few milliseconds of work (it runs only when the event loop has control). */
  private async yieldIfDue() {
    if (performance.now() - this.lastYield < 5) return;
    await yieldToSignals();
    this.lastYield = performance.now();
  }

  /** Where a stopped run ended. */
  interruption(): IndexInterruption {
    return { files: this.written, ofFiles: this.changed.length, bytes: this.sum.bytes, ofBytes: this.newBytes };
  }

  /** Runs `f`, counting its time as write time. */
  private timed<T>(f: () => T): T {
    const t = performance.now();
    try {
      return f();
    } finally {
      this.writeMs += performance.now() - t;
    }
  }

  summary(): IndexSummary {
    // the turns counted from their buckets (each call is in one; 'sluice check' holds them to the
    // turns), and the sessions from their narrowest index: a count of the turns themselves read
    // 98,228 rows of the 1 GB corpus's index, 9 ms of each run, and a sum over the sessions 3 ms
    const counts = this.db.query("SELECT (SELECT count(*) FROM sessions) AS s, (SELECT coalesce(sum(calls), 0) FROM usage_buckets) AS t").get() as { s: number; t: number };
    this.sum.sessions = counts.s;
    this.sum.turns = counts.t;
    this.sum.ms = Math.round(performance.now() - this.started);
    this.sum.writeMs = Math.round(this.writeMs);
    return this.sum;
  }
}
