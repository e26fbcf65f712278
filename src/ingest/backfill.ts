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
import { SluiceError, EXIT_USAGE } from "../errors";
import { EnvelopeExtractor } from "../extract/envelope";
import { claimIngester, releaseIngester } from "../db/ingester";
import { openDatabase } from "../db/open";
import { createIndexes, dropAllowlistedIndexes, dropForeignIndexes, missingIndexes, SSE_INDEXES } from "../db/indexes";
import { removeStaleParts } from "../db/parts";
import { BULK_CACHE_MB, setCacheMb, useBackfillSettings } from "../db/settings";
import { createSource, nextIdBase, resolveFileSource, type SourceRow } from "../db/sources";
import { SseWriter } from "../db/sse-writer";
import { identify } from "../input/fingerprint";
import { LineReader } from "../input/line-reader";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { ingestChunksInParallel } from "./parallel";
import { checkStartOffset } from "./start-offset";
import { planChunks } from "./plan";
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

/** --from-scratch: empties the sse tables (and the flows built from them) and forgets every source, in one transaction. */
function startOver(db: Database) {
  db.transaction(() => {
    for (const t of ["sse_rows", "sse_raw", "sse_decoded", "rejects", "source_events", "sources", "flows"]) db.run(`DELETE FROM ${t}`);
    // the flows are built from sse rows: the next 'sluice index' builds them again from the first
    db.run("DELETE FROM index_state WHERE key = 'flows_through_id'");
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

    if (input.kind === "stdin" || (size - start >= BULK_BYTES && size - start >= databaseBytes(db) / 2)) dropAllowlistedIndexes(db);
    const appendOnly = missingIndexes(db).length === SSE_INDEXES.length;
    if (appendOnly) setCacheMb(db, Math.min(o.cacheMb, BULK_CACHE_MB));

    const idBase = nextIdBase(db, start);
    const extractor = new EnvelopeExtractor();
    const main = new SseWriter(db, source.id, idBase, start, { rows: o.batchRows, ms: o.batchMs }, { sourceId: source.id });
    writer = main;
    const onOversized = (l: { offset: number; length: number; head: Buffer }) => main.reject(l.offset, l.length, "longer than --max-line", l.head);
    const progress = new ProgressLine(o.progress, Math.max(0, size - start));
    let mergedRows = 0, mergedRejects = 0, workerSlow = 0;

    // At least four chunks per thread, so a file just over the threshold still uses every thread.
    const chunkBytes = Math.max(4 << 20, Math.min(CHUNK_BYTES, Math.floor((size - start) / (o.jobs * 4))));
    const chunks = input.kind === "file" && o.jobs > 1 ? planChunks(input.fd, start, size, chunkBytes) : [];
    if (chunks.length) {
      const t = await ingestChunksInParallel({
        db, dbPath: o.dbPath, fd: input.fd, sourceId: source.id, idBase, chunks, jobs: o.jobs, maxLine: o.maxLine,
        onProgress: (off, lines) => progress.update(off - start, lines, "backfill "),
      });
      mergedRows = t.rows;
      mergedRejects = t.rejects;
      workerSlow = t.slowPath;
      log.debug(`parallel part done at ${((performance.now() - started) / 1000).toFixed(2)} s`);
    }

    // The sequential part: all of a small file or stdin, and whatever follows the ranges.
    const tailStart = chunks.length ? chunks[chunks.length - 1]!.end : start;
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
      setCacheMb(db, Math.min(o.cacheMb, BULK_CACHE_MB));
      built = createIndexes(db);
    }
    progress.done();
    releaseIngester(db);
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
      jobs: chunks.length ? Math.min(o.jobs, chunks.length) : 1,
      slow_path_lines: extractor.slowPathLines + workerSlow,
    };
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

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
