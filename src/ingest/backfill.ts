// The historical backfill: from the committed offset to the end of the input, as fast as the
// machine allows, then the indexes. Data flows one way: input -> lines -> rows -> one writer.
//
// A large file is cut into chunks (ingest/plan.ts) that worker threads ingest into part databases
// while this thread merges them in file order (ingest/parallel.ts); a small file, stdin, and the
// bytes after the last chunk go through one thread straight into the database. Either way the
// committed offset only ever covers a prefix of the file, so a crash at any point resumes cleanly.
// A stop signal (SIGINT, SIGTERM) ends it at the next read chunk, merge or index build with what was
// read committed and one line that says where (runBackfill); the wrong input is said in one line too.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { closeSync, fstatSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { EnvelopeExtractor } from "../extract/envelope";
import { claimIngester, releaseIngester } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { createIndex, dropAllowlistedIndexes, dropForeignIndexes, missingIndexes, SSE_INDEXES } from "./sse-indexes";
import { removeStaleParts } from "./parts";
import { BULK_CACHE_MB, setCacheMb, useBackfillSettings } from "../db/settings";
import { createSource, nextIdBase, recordSourceEvent, resolveFileSource, stdinAgainWarning, type SourceRow } from "./sources";
import { SseWriter } from "./sse-writer";
import { identify, tailFingerprintOf } from "../input/file-identity";
import { LineReader } from "../input/line-reader";
import { StdinAhead } from "./stdin-backfill";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { ingestChunksInParallel } from "./parallel";
import { checkStartOffset } from "./start-offset";
import { planChunks } from "./plan";
import { peakRssBytes } from "../runtime/proc";
import { ProgressLine } from "../runtime/progress-line";
import { count, plural } from "../runtime/format";
import { exitBySignal, settleSignals, StopRequest, yieldToSignals } from "../runtime/signals";
import { InputSample, sampleFile, wrongInputLine } from "./input-kind";

export interface IngestOptions {
  input: string;
  dbPath: string;
  fromScratch: boolean;
  /** --start-offset: where to start instead of the committed offset. */
  startOffset: number | null;
  maxLine: number;
  cacheMb: number;
  batchRows: number;
  batchMs: number;
  jobs: number;
  pageSize: number;
  progress: boolean;
}

export interface IngestSummary {
  input: string;
  db: string;
  sourceId: number;
  startOffset: number;
  committedOffset: number;
  /** Non-blank lines read: rows plus rejects. */
  lines: number;
  rows: number;
  rejects: number;
  bytes: number;
  /** Bytes after the last newline left for a later run (a line still being written). */
  pendingBytes: number;
  seconds: number;
  loadSeconds: number;
  indexSeconds: number;
  indexesBuilt: number;
  linesPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  jobs: number;
  slowPathLines: number;
}

/** Bytes per chunk of a parallel backfill: small enough that a part is merged while still in the page cache. */
const CHUNK_BYTES = 32 << 20;

/**
 * Bytes to read above which the indexes are dropped and rebuilt rather than kept up row by row;
 * and only when they are at least half the database again. Rebuilding sorts the whole table: for
 * the hand-over's catch-up passes after a 3M-line backfill (a few hundred MB appended meanwhile)
 * it took longer than the read, every pass, and the live image started far behind.
 */
export const BULK_BYTES = 64 << 20;

function databaseBytes(db: Database): number {
  const one = (pragma: string) => Object.values(db.query(`PRAGMA ${pragma}`).get() as Record<string, number>)[0]!;
  return one("page_count") * one("page_size");
}

interface Input {
  fd: number;
  kind: "file" | "stdin";
  path: string;
}

function openInput(input: string): Input {
  if (input === "-" || input === "/dev/stdin") return { fd: 0, kind: "stdin", path: "-" };
  const path = resolve(input);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file; check the path" : code === "EACCES" ? "permission denied; check its permissions" : (err as Error).message;
    throw new SluiceError(`cannot read input ${path}: ${why}`, EXIT_USAGE);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new SluiceError(`input ${path} is not a regular file; pass a file, or '-' and pipe it to stdin`, EXIT_USAGE);
  }
  return { fd, kind: "file", path };
}

/**
 * --from-scratch: empties the sse tables and forgets every source, in one transaction. (The deep
 * index's flows, built from these rows, see the new first source and are built again by the next
 * 'sluice index': deep-index/flows.ts.)
 */
function startOver(db: Database) {
  db.transaction(() => {
    for (const t of ["sse_rows", "sse_raw", "sse_decoded", "rejects", "source_events", "sources"]) db.run(`DELETE FROM ${t}`);
  }).immediate();
}

/**
 * Backfills from the committed offset to the end of the input. With `keep`, a file input is left
 * open and its descriptor stored there, and a descriptor already there is read instead of the
 * path: the hand-over's catch-up passes and its live image go on with the same file even if it
 * is deleted or rotated meanwhile.
 *
 * SIGINT or SIGTERM stops it at the next chunk, merge or index (interruptRun): what was read is
 * committed, the parts are deleted, the interruption is recorded, and the process ends by the
 * signal after one line that says where it stopped.
 */
export async function runBackfill(o: IngestOptions, log: ConsolaInstance, keep?: { fd: number | null }): Promise<IngestSummary> {
  const started = performance.now();
  // Before the database is opened: a signal during a migration waits for it to commit.
  const stop = new StopRequest();
  let input: Input | null = null, db: Database | null = null, run: Run | null = null;
  let done: { summary: IngestSummary; wrong: WrongInput | null } | null = null, interrupted: string | null = null;
  try {
    input = keep?.fd != null ? { fd: keep.fd, kind: "file", path: resolve(o.input) } : openInput(o.input);
    db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
    run = startRun(db, input, o, log, started, stop);
    const r = run;
    // A second signal: the parts go at once too, without waiting for the workers to end.
    stop.lastResort = () => {
      interruptRun(r);
      removeStaleParts(o.dbPath);
    };
    const merged = await loadInParallel(r);
    const pending = await loadInOrder(r, merged);
    const loadDone = performance.now();
    const built = await buildMissingIndexes(r);
    await settleSignals(); // one that came in the last stretch: seen, not dropped with the handlers before the hand-over
    if (stop.stopped) interrupted = interruptRun(r);
    else {
      releaseIngester(db);
      const summary = summarize(r, merged, pending, loadDone, built);
      done = { summary, wrong: wrongInput(r, summary, keep !== undefined) };
    }
  } catch (err) {
    run?.writer.abort();
    throw err;
  } finally {
    stop.dispose();
    db?.close();
    if (input?.kind === "file") {
      if (keep) keep.fd = input.fd;
      else closeSync(input.fd);
    }
  }
  if (interrupted !== null) exitBySignal(stop.signal!, interrupted);
  const { summary, wrong } = done!;
  // the wrong input is said in one line, without the lesser news
  if (wrong?.fail) throw new SluiceError(wrong.line, EXIT_FAILURE);
  if (wrong) log.warn(wrong.line);
  const pending = summary.pendingBytes;
  if (pending > 0) log.warn(`the last ${pending} bytes of the input are an unfinished line (no newline yet); they will be ingested by a later run once complete`);
  return summary;
}

/** What one backfill run reads and writes with, passed to its steps. */
interface Run {
  db: Database;
  o: IngestOptions;
  input: Input;
  sourceId: number;
  /** Where reading starts, and the input's size then (0 for stdin). */
  start: number;
  size: number;
  idBase: number;
  writer: SseWriter;
  extractor: EnvelopeExtractor;
  /** The first lines read, to tell the wrong input (input-kind.ts). */
  sample: InputSample;
  progress: ProgressLine;
  log: ConsolaInstance;
  started: number;
  stop: StopRequest;
  /** Set once the interruption is recorded: the line that says where it stopped. */
  interruptLine?: string;
}

/** Rows merged from the parallel part's workers, and where that part ended. */
interface Merged {
  rows: number;
  rejects: number;
  slowPath: number;
  jobs: number;
  end: number;
}

/** Takes the database, finds where to start, and sets up the run's writer. */
function startRun(db: Database, input: Input, o: IngestOptions, log: ConsolaInstance, started: number, stop: StopRequest): Run {
  prepareDatabase(db, input, o, log);
  const { source, start, size } = startingPoint(db, input, o, log);
  if (input.kind === "stdin" || (size - start >= BULK_BYTES && size - start >= databaseBytes(db) / 2)) dropAllowlistedIndexes(db);
  const appendOnly = missingIndexes(db).length === SSE_INDEXES.length;
  if (appendOnly) setCacheMb(db, Math.min(o.cacheMb, BULK_CACHE_MB));
  const idBase = nextIdBase(db, start);
  return {
    db, o, input, sourceId: source.id, start, size, idBase, log, started, stop,
    writer: new SseWriter(db, source.id, idBase, start, { rows: o.batchRows, ms: o.batchMs }, { sourceId: source.id }),
    extractor: new EnvelopeExtractor(),
    // stdin is sampled as it is read (loadInOrder)
    sample: input.kind === "file" ? sampleFile(input.fd, start, size) : new InputSample(),
    progress: new ProgressLine(o.progress, Math.max(0, size - start)),
  };
}

/** Takes the database for the backfill, with its settings, and clears what an earlier run left. */
function prepareDatabase(db: Database, input: Input, o: IngestOptions, log: ConsolaInstance) {
  claimIngester(db, o.dbPath, "backfill", input.path);
  useBackfillSettings(db, o.cacheMb);
  if (o.fromScratch) {
    startOver(db);
    log.info("--from-scratch: emptied the sse tables and forgot every source");
  }
  const stale = removeStaleParts(o.dbPath);
  if (stale) log.info(`removed ${stale} part files left by an interrupted backfill; their lines are redone from the committed offset`);
  const dropped = dropForeignIndexes(db);
  if (dropped.length) log.warn(`dropped indexes that are not on the allowlist: ${dropped.join(", ")}`);
}

/** The input's source (resumed, or new after a truncation or replacement) and the byte to start at. */
function startingPoint(db: Database, input: Input, o: IngestOptions, log: ConsolaInstance): { source: SourceRow; start: number; size: number } {
  if (input.kind === "stdin") {
    const again = stdinAgainWarning(db);
    if (again) log.warn(again);
    return { source: createSource(db, "-", "stdin", null), start: 0, size: 0 };
  }
  const ident = identify(input.fd);
  const r = resolveFileSource(db, input.path, input.fd, ident);
  if (r.change === "truncated" || r.change === "replaced") log.warn(`${input.path} was ${r.change} (${r.detail}); reading it from byte 0 as source ${r.source.id}`);
  else if (r.change === "rotated") log.info(`${input.path}: ${r.detail}; reading the new file from byte 0 as source ${r.source.id}`);
  else if (r.change === "moved") log.info(`${input.path}: ${r.detail}; resuming at byte ${r.source.committed_offset}`);
  let start = r.source.committed_offset;
  if (o.startOffset !== null) start = checkStartOffset(input.fd, o.startOffset, ident.size, start, log);
  return { source: r.source, start, size: ident.size };
}

/** The parallel part: a large file cut into chunks that worker threads ingest, merged in file order. */
async function loadInParallel(run: Run): Promise<Merged> {
  const { o, input, start, size } = run;
  // At least four chunks per thread, so a file just over the threshold still uses every thread.
  const chunkBytes = Math.max(4 << 20, Math.min(CHUNK_BYTES, Math.floor((size - start) / (o.jobs * 4))));
  const chunks = input.kind === "file" && o.jobs > 1 && !run.stop.stopped ? planChunks(input.fd, start, size, chunkBytes) : [];
  if (!chunks.length) return { rows: 0, rejects: 0, slowPath: 0, jobs: 1, end: start };
  const t = await ingestChunksInParallel({
    db: run.db, dbPath: o.dbPath, fd: input.fd, sourceId: run.sourceId, idBase: run.idBase, chunks, jobs: o.jobs, maxLine: o.maxLine, stop: run.stop,
    onProgress: (off, lines) => run.progress.update(off - start, lines, "backfill "),
  });
  run.log.debug(`parallel part done at ${((performance.now() - run.started) / 1000).toFixed(2)} s`);
  return { rows: t.rows, rejects: t.rejects, slowPath: t.slowPath, jobs: Math.min(o.jobs, chunks.length), end: t.end };
}

/** How long the stdin loop waits for more input before it looks at the stop request again. */
const STDIN_WAIT_MS = 250;

/**
 * The sequential part: all of a small file or stdin, and whatever follows the parallel ranges. It
 * yields to the event loop after each read chunk (8 MiB), so a stop signal is seen within one;
 * stdin is pumped asynchronously, since a blocking read would hold a signal until input came.
 * Returns the bytes of an unfinished last line left for a later run.
 */
async function loadInOrder(run: Run, merged: Merged): Promise<number> {
  const { input, o, start, extractor, writer: main } = run;
  const onOversized = (l: { offset: number; length: number; head: Buffer }) => main.reject(l.offset, l.length, "longer than --max-line", l.head);
  const queue = input.kind === "stdin" ? new StdinAhead() : null;
  const read = queue ? (b: Buffer, off: number, len: number) => queue.read(b, off, len) : undefined;
  const reader = new LineReader(input.fd, merged.end, { maxLine: o.maxLine, stream: queue !== null, read }, onOversized);
  // The bytes before the start are not in memory: the first commit reads them if it comes within 4 KiB.
  if (!queue) main.tailFrom((offset) => reader.tailFingerprint(offset) ?? tailFingerprintOf(input.fd, offset));
  const onChunk = (off: number) => {
    if (queue && !run.sample.full) run.sample.feed(reader.buf, reader.start, reader.end);
    run.progress.update(off - start, main.rows + main.rejects + merged.rows + merged.rejects, "backfill ");
  };
  while (!run.stop.stopped) {
    if (ingestLines(reader, extractor, main, onChunk, 1)) {
      await yieldToSignals();
      continue;
    }
    if (!queue || queue.done) break;
    // stdin is idle: what was read is committed while it waits, not held in an open batch
    main.commitIfDue(reader.nextLineOffset);
    reader.resume();
    await Promise.race([queue.wait(STDIN_WAIT_MS), run.stop.whenStopped()]);
  }
  if (run.stop.stopped) {
    // Everything read so far is whole lines: committed with the offset of the next one.
    main.close(reader.nextLineOffset);
    return 0;
  }
  reader.finishOversized();
  if (queue && !run.sample.full) run.sample.feed(Buffer.concat([reader.pending(), Buffer.from("\n")]), 0, reader.pending().length + 1);
  ingestFinalLine(reader, extractor, main, queue !== null);
  main.close(reader.nextLineOffset);
  return reader.pending().length;
}

/** Builds the allowlisted indexes the load dropped (or never had), one at a time; returns how many. */
async function buildMissingIndexes(run: Run): Promise<number> {
  let built = 0;
  const missing = run.stop.stopped ? [] : missingIndexes(run.db);
  if (missing.length) {
    run.progress.message(`building ${plural(missing.length, "index", "indexes")}`);
    setCacheMb(run.db, Math.min(run.o.cacheMb, BULK_CACHE_MB));
    for (const name of missing) {
      await yieldToSignals();
      if (run.stop.stopped) break;
      createIndex(run.db, name);
      built++;
    }
  }
  run.progress.done();
  return built;
}

/**
 * After a stop signal: rolls back a batch still open (only a second signal finds one; the first
 * commits what was read), records the interruption as a source event, which tells 'sluice check'
 * that the missing indexes are an unfinished backfill's (ingest/invariants.ts), and releases the
 * ingester row. Synchronous, so a second signal can run it too. Returns the line to print.
 */
function interruptRun(run: Run): string {
  if (run.interruptLine !== undefined) return run.interruptLine;
  run.progress.done();
  run.writer.abort();
  const { db, sourceId } = run;
  const committed = (db.query("SELECT committed_offset AS c FROM sources WHERE id = ?").get(sourceId) as { c: number }).c;
  const missing = missingIndexes(db).length;
  const notBuilt = missing ? `, ${missing} of ${SSE_INDEXES.length} indexes not built yet` : "";
  let where: string, next: string;
  if (run.input.kind === "stdin") {
    where = `committed through byte ${count(committed)} of stdin${notBuilt}`;
    next = "stdin has no identity, so a re-run appends what it is given as a new source: capture the stream to a file to ingest it exactly once";
  } else {
    const total = Math.max(run.size, committed);
    where = `committed through byte ${count(committed)} of ${count(total)} (${total ? ((100 * committed) / total).toFixed(1) : "100.0"}%)${notBuilt}`;
    next = "run the same command to resume";
  }
  try {
    db.transaction(() => {
      recordSourceEvent(db, sourceId, "interrupted", `${run.stop.signal} during the backfill: ${where}`);
      releaseIngester(db);
    }).immediate();
  } catch (err) {
    // Nothing committed is at risk; the next run takes the ingester row over from this PID.
    run.log.debug(`could not record the interruption: ${(err as Error).message}`);
  }
  run.interruptLine = `interrupted: ${where}; ${next}`;
  return run.interruptLine;
}

/** The wrong input, said in one line; `fail` when not one envelope line came from it. */
interface WrongInput {
  line: string;
  fail: boolean;
}

/**
 * Whether the lines read look like another format (a transcript, a rollout, a raw SSE stream).
 * Rows are still ingested (any JSON object is a row, its missing fields NULL), but an input with
 * no envelope line at all ends in exit 1, unless it is followed (`follow`): its envelope lines
 * may still come.
 */
function wrongInput(run: Run, s: IngestSummary, follow: boolean): WrongInput | null {
  if (s.lines === 0 || !run.sample.verdict()) return null;
  const nothing = s.rows === 0 || (run.sample.counts.envelope === 0 && !hasEnvelopeRows(run.db, run.sourceId, run.idBase + run.start));
  const line = wrongInputLine(run.sample, run.input.kind === "stdin" ? "stdin" : run.input.path, nothing)!;
  return { line, fail: nothing && !follow };
}

/** True when a row of this run (ids from `fromId`) has an envelope field. */
function hasEnvelopeRows(db: Database, sourceId: number, fromId: number): boolean {
  const fields = ["t", "source", "sid", "flow_id", "round", "event", "meta_pid", "meta_cwd", "meta_turn_id"].map((c) => `${c} IS NOT NULL`).join(" OR ");
  return !!db.query(`SELECT 1 FROM sse_rows WHERE id >= ? AND file_id = ? AND (${fields}) LIMIT 1`).get(fromId, sourceId);
}

function summarize(run: Run, merged: Merged, pending: number, loadDone: number, built: number): IngestSummary {
  const main = run.writer;
  const finished = performance.now();
  const rows = main.rows + merged.rows;
  const rejects = main.rejects + merged.rejects;
  const bytes = main.committedOffset - run.start;
  const secs = (finished - run.started) / 1000;
  return {
    input: run.input.path,
    db: run.o.dbPath,
    sourceId: run.sourceId,
    startOffset: run.start,
    committedOffset: main.committedOffset,
    lines: rows + rejects,
    rows,
    rejects,
    bytes,
    pendingBytes: pending,
    seconds: round3(secs),
    loadSeconds: round3((loadDone - run.started) / 1000),
    indexSeconds: round3((finished - loadDone) / 1000),
    indexesBuilt: built,
    linesPerSecond: Math.round((rows + rejects) / Math.max(secs, 1e-6)),
    mbPerSecond: round3(bytes / 1e6 / Math.max(secs, 1e-6)),
    peakRssMb: round3(peakRssBytes() / (1 << 20)),
    jobs: merged.jobs,
    slowPathLines: run.extractor.slowPathLines + merged.slowPath,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
