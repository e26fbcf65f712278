// The historical backfill: from the committed offset to the end of the input, as fast as the
// machine allows, then the indexes. Data flows one way: input -> lines -> rows -> one writer.
//
// A large file is cut into chunks (ingest/plan.ts) that worker threads ingest into part databases
// while this thread merges them in file order (ingest/parallel.ts); a small file, stdin, and the
// bytes after the last chunk go through one thread straight into the database. Either way the
// committed offset only ever covers a prefix of the file, so a crash at any point resumes cleanly.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { closeSync, fstatSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { EnvelopeExtractor } from "../extract/envelope";
import { claimIngester, releaseIngester } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { createIndexes, dropAllowlistedIndexes, dropForeignIndexes, missingIndexes, SSE_INDEXES } from "./sse-indexes";
import { removeStaleParts } from "./parts";
import { BULK_CACHE_MB, setCacheMb, useBackfillSettings } from "../db/settings";
import { createSource, nextIdBase, resolveFileSource, type SourceRow } from "./sources";
import { SseWriter } from "./sse-writer";
import { identify, tailFingerprintOf } from "../input/file-identity";
import { LineReader } from "../input/line-reader";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { ingestChunksInParallel } from "./parallel";
import { checkStartOffset } from "./start-offset";
import { planChunks } from "./plan";
import { peakRssBytes } from "../runtime/proc";
import { ProgressLine } from "../runtime/progress-line";

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
  source_id: number;
  start_offset: number;
  committed_offset: number;
  /** Non-blank lines read: rows plus rejects. */
  lines: number;
  rows: number;
  rejects: number;
  bytes: number;
  /** Bytes after the last newline left for a later run (a line still being written). */
  pending_bytes: number;
  seconds: number;
  load_seconds: number;
  index_seconds: number;
  indexes_built: number;
  lines_per_s: number;
  mb_per_s: number;
  peak_rss_mb: number;
  jobs: number;
  slow_path_lines: number;
}

/** Bytes per chunk of a parallel backfill: small enough that a part is merged while still in the page cache. */
const CHUNK_BYTES = 32 << 20;

/**
 * Bytes to read above which the indexes are dropped and rebuilt rather than kept up row by row;
 * and only when they are at least half the database again. Rebuilding sorts the whole table: for
 * the hand-over's catch-up passes after a 3M-line backfill (a few hundred MB appended meanwhile)
 * it took longer than the read, every pass, and the live image started far behind.
 */
const BULK_BYTES = 64 << 20;

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
 */
export async function runBackfill(o: IngestOptions, log: ConsolaInstance, keep?: { fd: number | null }): Promise<IngestSummary> {
  const started = performance.now();
  const input: Input = keep?.fd != null ? { fd: keep.fd, kind: "file", path: resolve(o.input) } : openInput(o.input);
  const db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
  let writer: SseWriter | null = null;
  try {
    prepareDatabase(db, input, o, log);
    const { source, start, size } = startingPoint(db, input, o, log);
    if (input.kind === "stdin" || (size - start >= BULK_BYTES && size - start >= databaseBytes(db) / 2)) dropAllowlistedIndexes(db);
    const appendOnly = missingIndexes(db).length === SSE_INDEXES.length;
    if (appendOnly) setCacheMb(db, Math.min(o.cacheMb, BULK_CACHE_MB));
    const run: Run = {
      db, o, input, start, size, log, started, idBase: nextIdBase(db, start), extractor: new EnvelopeExtractor(),
      progress: new ProgressLine(o.progress, Math.max(0, size - start)),
    };
    writer = new SseWriter(db, source.id, run.idBase, start, { rows: o.batchRows, ms: o.batchMs }, { sourceId: source.id });
    const merged = await loadInParallel(run, source.id);
    const pending = loadInOrder(run, writer, merged);
    const loadDone = performance.now();
    const built = buildMissingIndexes(run);
    releaseIngester(db);
    return summary(run, source.id, writer, merged, pending, loadDone, built);
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    db.close();
    if (input.kind === "file") {
      if (keep) keep.fd = input.fd;
      else closeSync(input.fd);
    }
  }
}

/** What one backfill run reads and writes with, passed to its steps. */
interface Run {
  db: Database;
  o: IngestOptions;
  input: Input;
  /** Where reading starts, and the input's size then (0 for stdin). */
  start: number;
  size: number;
  idBase: number;
  extractor: EnvelopeExtractor;
  progress: ProgressLine;
  log: ConsolaInstance;
  started: number;
}

/** Rows merged from the parallel part's workers, and where that part ended. */
interface Merged {
  rows: number;
  rejects: number;
  slowPath: number;
  jobs: number;
  end: number;
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
  if (input.kind === "stdin") return { source: createSource(db, "-", "stdin", null), start: 0, size: 0 };
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
async function loadInParallel(run: Run, sourceId: number): Promise<Merged> {
  const { o, input, start, size } = run;
  // At least four chunks per thread, so a file just over the threshold still uses every thread.
  const chunkBytes = Math.max(4 << 20, Math.min(CHUNK_BYTES, Math.floor((size - start) / (o.jobs * 4))));
  const chunks = input.kind === "file" && o.jobs > 1 ? planChunks(input.fd, start, size, chunkBytes) : [];
  if (!chunks.length) return { rows: 0, rejects: 0, slowPath: 0, jobs: 1, end: start };
  const t = await ingestChunksInParallel({
    db: run.db, dbPath: o.dbPath, fd: input.fd, sourceId, idBase: run.idBase, chunks, jobs: o.jobs, maxLine: o.maxLine,
    onProgress: (off, lines) => run.progress.update(off - start, lines, "backfill "),
  });
  run.log.debug(`parallel part done at ${((performance.now() - run.started) / 1000).toFixed(2)} s`);
  return { rows: t.rows, rejects: t.rejects, slowPath: t.slowPath, jobs: Math.min(o.jobs, chunks.length), end: chunks[chunks.length - 1]!.end };
}

/**
 * The sequential part: all of a small file or stdin, and whatever follows the parallel ranges.
 * Returns the bytes of an unfinished last line left for a later run.
 */
function loadInOrder(run: Run, main: SseWriter, merged: Merged): number {
  const { input, o, start, extractor } = run;
  const onOversized = (l: { offset: number; length: number; head: Buffer }) => main.reject(l.offset, l.length, "longer than --max-line", l.head);
  const reader = new LineReader(input.fd, merged.end, { maxLine: o.maxLine, stream: input.kind === "stdin" }, onOversized);
  // The bytes before the start are not in memory: the first commit reads them if it comes within 4 KiB.
  if (input.kind === "file") main.tailFrom((offset) => reader.tailFingerprint(offset) ?? tailFingerprintOf(input.fd, offset));
  ingestLines(reader, extractor, main, (off) => run.progress.update(off - start, main.rows + main.rejects + merged.rows + merged.rejects, "backfill "));
  reader.finishOversized();
  ingestFinalLine(reader, extractor, main, input.kind === "stdin");
  main.close(reader.nextLineOffset);
  const pending = reader.pending().length;
  if (pending > 0) run.log.warn(`the last ${pending} bytes of the input are an unfinished line (no newline yet); they will be ingested by a later run once complete`);
  return pending;
}

/** Builds the allowlisted indexes the load dropped (or never had); returns how many. */
function buildMissingIndexes(run: Run): number {
  let built = 0;
  const missing = missingIndexes(run.db);
  if (missing.length) {
    run.progress.message(`building ${missing.length} indexes`);
    setCacheMb(run.db, Math.min(run.o.cacheMb, BULK_CACHE_MB));
    built = createIndexes(run.db);
  }
  run.progress.done();
  return built;
}

function summary(run: Run, sourceId: number, main: SseWriter, merged: Merged, pending: number, loadDone: number, built: number): IngestSummary {
  const finished = performance.now();
  const rows = main.rows + merged.rows;
  const rejects = main.rejects + merged.rejects;
  const bytes = main.committedOffset - run.start;
  const secs = (finished - run.started) / 1000;
  return {
    input: run.input.path,
    db: run.o.dbPath,
    source_id: sourceId,
    start_offset: run.start,
    committed_offset: main.committedOffset,
    lines: rows + rejects,
    rows,
    rejects,
    bytes,
    pending_bytes: pending,
    seconds: round3(secs),
    load_seconds: round3((loadDone - run.started) / 1000),
    index_seconds: round3((finished - loadDone) / 1000),
    indexes_built: built,
    lines_per_s: Math.round((rows + rejects) / Math.max(secs, 1e-6)),
    mb_per_s: round3(bytes / 1e6 / Math.max(secs, 1e-6)),
    peak_rss_mb: round3(peakRssBytes() / (1 << 20)),
    jobs: merged.jobs,
    slow_path_lines: run.extractor.slowPathLines + merged.slowPath,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
