// One file being read by the live tail: its descriptor, its source row, the reader over it, the
// writer of its rows and the guard that proves each read came from the content sluice has been
// reading. The followed file and every file that left the path (left-files.ts) are tails.

import type { Database } from "bun:sqlite";
import type { EnvelopeExtractor } from "../extract/envelope";
import type { Histogram } from "../runtime/histogram";
import { tailFingerprintOf } from "../input/file-identity";
import { LineReader } from "../input/line-reader";
import { RewriteGuard } from "../input/rewrite-guard";
import { ingestLines } from "./line-loop";
import type { SourceRow } from "./sources";
import { SseWriter } from "./sse-writer";

/** The live tail's read buffer; it grows only for a longer line, and shrinks back after. */
export const LIVE_BUFFER_BYTES = 256 << 10;

export interface Tail {
  fd: number;
  source: SourceRow;
  reader: LineReader;
  writer: SseWriter;
  guard: RewriteGuard;
}

/** How the tails of one live run read and commit: the run's flags. */
export interface TailSettings {
  maxLine: number;
  batchRows: number;
  batchMs: number;
  /** The live run's commit latencies (sse-writer.ts), shared by all its tails. */
  commitTimes?: Histogram;
}

/**
 * A tail over `fd` as `source`, reading from `start`. The guard's bytes before `start` (the ones
 * the start was judged by) seed the reader's, so every tail fingerprint it commits comes from
 * bytes the guard checked; only after an oversized line is one read from the file.
 */
export function openTailAt(db: Database, s: TailSettings, fd: number, source: SourceRow, start: number, guard = new RewriteGuard(fd)): Tail {
  const writer = new SseWriter(db, source.id, null, start, { rows: s.batchRows, ms: s.batchMs }, { sourceId: source.id });
  writer.commitTimes = s.commitTimes ?? null;
  const behind = guard.bytesBefore(start);
  const reader = new LineReader(fd, start, { maxLine: s.maxLine, bufferBytes: LIVE_BUFFER_BYTES, read: guard.read, behind }, (l) => writer.reject(l.offset, l.length, "longer than --max-line", l.head));
  writer.tailFrom((offset) => reader.tailFingerprint(offset) ?? tailFingerprintOf(fd, offset));
  return { fd, source, reader, writer, guard };
}

/** Reads every complete line there is now into the tail's writer; returns how many. */
export function readTail(t: Tail, extractor: EnvelopeExtractor): number {
  const before = t.writer.linesWritten;
  ingestLines(t.reader, extractor, t.writer);
  return t.writer.linesWritten - before;
}
