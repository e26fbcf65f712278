// The historical backfill: from the committed offset to the end of the input, as fast as the
// machine allows, then the indexes. Data flows one way: input -> lines -> rows -> one writer.
//
// With a large file the bytes to go are split into ranges (ingest/plan.ts): the main thread
// ingests the first range straight into the database, committing its offset as it goes, while
// worker threads ingest the others into part databases, merged afterwards in file order. The
// committed offset only ever covers a prefix of the file, so a crash at any point resumes cleanly.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { SluiceError, EXIT_USAGE } from "../errors";
import { EnvelopeExtractor } from "../extract/envelope";
import { openDatabase } from "../db/open";
import { createIndexes, dropAllowlistedIndexes, dropForeignIndexes, missingIndexes, SSE_INDEXES } from "../db/indexes";
import { mergePart, partPath, partTableDdl, removePart } from "../db/parts";
import { APPEND_CACHE_MB, setCacheMb, useBackfillSettings } from "../db/settings";
import { createSource, nextIdBase, resolveFileSource, type SourceRow } from "../db/sources";
import { SseWriter } from "../db/sse-writer";
import { identify } from "../input/fingerprint";
import { LineReader } from "../input/line-reader";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { planRanges, type Range } from "./plan";
import type { PartJob, PartMessage } from "./part-worker";
import { peakRssBytes, ProgressLine } from "./progress";

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

/** Appended bytes above which the indexes are dropped and rebuilt rather than kept up row by row. */
const BULK_BYTES = 64 << 20;

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

function checkStartOffset(fd: number, n: number, size: number, committed: number, log: ConsolaInstance): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new SluiceError(`--start-offset ${n} is not a byte offset; pass a whole number >= 0`);
  if (n > size) throw new SluiceError(`--start-offset ${n} is past the end of the input (${size} bytes); pass an offset inside the file`);
  if (n > 0) {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, n - 1);
    if (b[0] !== 10) throw new SluiceError(`--start-offset ${n} is not at a line start (byte ${n - 1} is not a newline); pass the offset of a line's first byte`);
  }
  if (n < committed) {
    throw new SluiceError(`--start-offset ${n} would ingest bytes ${n}..${committed} a second time (they are committed); omit --start-offset to resume, or pass --from-scratch`);
  }
  if (n > committed) log.warn(`starting at byte ${n}: bytes ${committed}..${n} of the input are skipped`);
  return n;
}

/** --from-scratch: empties the sse tables and forgets every source, in one transaction. */
function startOver(db: Database) {
  db.transaction(() => {
    for (const t of ["sse_rows", "sse_raw", "sse_decoded", "rejects", "source_events", "sources"]) db.run(`DELETE FROM ${t}`);
  }).immediate();
}

function workerUrl(): string {
  // Resolved from the entry point, which also works inside a compiled executable (build.ts bundles
  // the worker as a second entry point beside cli.ts).
  return join(dirname(Bun.main), "ingest", "part-worker.ts");
}

interface PartRun {
  range: Range;
  path: string;
  progress: number;
  result: Promise<{ rows: number; rejects: number; slowPath: number }>;
  worker: Worker;
}

function startPart(job: PartJob, range: Range): PartRun {
  const worker = new Worker(workerUrl());
  const run: PartRun = { range, path: job.partDb, progress: range.start, worker, result: null! };
  run.result = new Promise((resolvePart, reject) => {
    worker.onmessage = (e: MessageEvent<PartMessage>) => {
      const m = e.data;
      if (m.type === "progress") run.progress = m.offset;
      else if (m.type === "done") {
        run.progress = range.end;
        resolvePart(m);
      } else reject(new SluiceError(`ingesting bytes ${range.start}..${range.end} in a worker failed: ${m.message}`, 1));
    };
    worker.onerror = (e) => reject(new SluiceError(`worker for bytes ${range.start}..${range.end} crashed: ${e.message}`, 1));
  });
  // Awaited in file order later; until then a failure must not count as unhandled.
  run.result.catch(() => {});
  worker.postMessage(job);
  return run;
}

export async function runBackfill(o: IngestOptions, log: ConsolaInstance): Promise<IngestSummary> {
  const started = performance.now();
  const input = openInput(o.input);
  const db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
  const parts: PartRun[] = [];
  let writer: SseWriter | null = null;
  try {
    useBackfillSettings(db, o.cacheMb);
    if (o.fromScratch) {
      startOver(db);
      log.info("--from-scratch: emptied the sse tables and forgot every source");
    }
    const dropped = dropForeignIndexes(db);
    if (dropped.length) log.warn(`dropped indexes that are not on the allowlist: ${dropped.join(", ")}`);

    let source: SourceRow;
    let start = 0;
    let size = 0;
    if (input.kind === "file") {
      const ident = identify(input.fd);
      const r = resolveFileSource(db, input.path, input.fd, ident);
      if (r.change === "truncated" || r.change === "replaced") log.warn(`${input.path} was ${r.change} (${r.detail}); reading it from byte 0 as source ${r.source.id}`);
      else if (r.change === "moved") log.info(`${input.path}: ${r.detail}; resuming at byte ${r.source.committed_offset}`);
      source = r.source;
      start = source.committed_offset;
      if (o.startOffset !== null) start = checkStartOffset(input.fd, o.startOffset, ident.size, start, log);
      size = ident.size;
    } else {
      source = createSource(db, "-", "stdin", null);
    }

    if (input.kind === "stdin" || size - start >= BULK_BYTES) dropAllowlistedIndexes(db);
    const appendOnly = missingIndexes(db).length === SSE_INDEXES.length;
    if (appendOnly) setCacheMb(db, Math.min(o.cacheMb, APPEND_CACHE_MB));

    const idBase = nextIdBase(db, start);
    const extractor = new EnvelopeExtractor();
    const main = new SseWriter(db, source.id, idBase, start, { rows: o.batchRows, ms: o.batchMs }, { sourceId: source.id });
    writer = main;
    const onOversized = (l: { offset: number; length: number; head: Buffer }) => main.reject(l.offset, l.length, "longer than --max-line", l.head);
    const progress = new ProgressLine(o.progress, Math.max(0, size - start));
    let mergedRows = 0, mergedRejects = 0, workerSlow = 0;

    const ranges = input.kind === "file" ? planRanges(input.fd, start, size, o.jobs) : [];
    if (ranges.length > 1) {
      const ddl = partTableDdl(db);
      const pageSize = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
      for (let i = 1; i < ranges.length; i++) {
        const range = ranges[i]!;
        const path = partPath(o.dbPath, i);
        const job: PartJob = { file: input.path, partDb: path, start: range.start, end: range.end, idBase, fileId: source.id, ddl, pageSize, maxLine: o.maxLine, batchRows: 200_000 };
        parts.push(startPart(job, range));
      }
      const first = ranges[0]!;
      const reader = new LineReader(input.fd, first.start, { maxLine: o.maxLine, endOffset: first.end }, onOversized);
      const done = () => parts.reduce((a, p) => a + (p.progress - p.range.start), 0);
      ingestLines(reader, extractor, main, (off) => progress.update(off - start + done(), main.rows + main.rejects, "backfill "));
      main.commit(first.end);
      log.debug(`main range ${first.start}..${first.end} done at ${((performance.now() - started) / 1000).toFixed(2)} s`);
      for (const part of parts) {
        while (true) {
          const finished = await Promise.race([part.result.then(() => true), Bun.sleep(250).then(() => false)]);
          if (finished) break;
          progress.update(first.end - start + done(), main.rows + main.rejects, "backfill (waiting for workers) ");
        }
        const r = await part.result;
        workerSlow += r.slowPath;
        progress.message(`merging bytes ${part.range.start}..${part.range.end}`);
        const mergeStart = performance.now();
        log.debug(`part ${part.range.start}..${part.range.end} ready at ${((mergeStart - started) / 1000).toFixed(2)} s`);
        const m = mergePart(db, part.path, source.id, part.range.end);
        log.debug(`merged ${m.rows} rows in ${((performance.now() - mergeStart) / 1000).toFixed(2)} s`);
        mergedRows += m.rows;
        mergedRejects += m.rejects;
        removePart(part.path);
      }
    }

    // The sequential part: all of a small file or stdin, and whatever follows the ranges.
    const tailStart = ranges.length > 1 ? ranges[ranges.length - 1]!.end : start;
    const reader = new LineReader(input.fd, tailStart, { maxLine: o.maxLine, stream: input.kind === "stdin" }, onOversized);
    ingestLines(reader, extractor, main, (off) => progress.update(off - start, main.rows + main.rejects + mergedRows + mergedRejects, "backfill "));
    reader.finishOversized();
    ingestFinalLine(reader, extractor, main, input.kind === "stdin");
    main.close(reader.nextLineOffset);
    const pending = reader.pending().length;
    if (pending > 0) log.warn(`the last ${pending} bytes of the input are an unfinished line (no newline yet); they will be ingested by a later run once complete`);
    const loadDone = performance.now();

    let built = 0;
    const missing = missingIndexes(db);
    if (missing.length) {
      progress.message(`building ${missing.length} indexes`);
      setCacheMb(db, o.cacheMb);
      built = createIndexes(db);
    }
    progress.done();
    const finished = performance.now();

    const rows = main.rows + mergedRows;
    const rejects = main.rejects + mergedRejects;
    const bytes = main.committedOffset - start;
    const secs = (finished - started) / 1000;
    return {
      input: input.path,
      db: o.dbPath,
      source_id: source.id,
      start_offset: start,
      committed_offset: main.committedOffset,
      lines: rows + rejects,
      rows,
      rejects,
      bytes,
      pending_bytes: pending,
      seconds: round3(secs),
      load_seconds: round3((loadDone - started) / 1000),
      index_seconds: round3((finished - loadDone) / 1000),
      indexes_built: built,
      lines_per_s: Math.round((rows + rejects) / Math.max(secs, 1e-6)),
      mb_per_s: round3(bytes / 1e6 / Math.max(secs, 1e-6)),
      peak_rss_mb: round3(peakRssBytes() / (1 << 20)),
      jobs: Math.max(1, ranges.length),
      slow_path_lines: extractor.slowPathLines + workerSlow,
    };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    for (const p of parts) {
      p.worker.terminate();
      removePart(p.path);
    }
    db.close();
    if (input.kind === "file") closeSync(input.fd);
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
