// How a backfill splits a file into byte ranges for parallel ingestion. Every range boundary is a
// line start, so a line belongs to the range its first byte falls in.

import { readSync } from "node:fs";

/** Below this many bytes a second thread costs more than it saves. */
export const MIN_PARALLEL_BYTES = 32 << 20;

export interface Range {
  start: number;
  end: number;
}

/** The first line start at or after `pos` (a position just past a '\n'), or `limit` if none. */
export function lineStartAtOrAfter(fd: number, pos: number, limit: number): number {
  if (pos <= 0) return 0;
  const buf = Buffer.allocUnsafe(1 << 16);
  let at = pos - 1; // the byte before pos may itself be the '\n'
  while (at < limit) {
    const got = readSync(fd, buf, 0, Math.min(buf.length, limit - at), at);
    if (got === 0) break;
    const nl = buf.indexOf(10);
    if (nl >= 0 && nl < got) return at + nl + 1;
    at += got;
  }
  return limit;
}

/**
 * Splits [start, size) into chunks of about `chunkBytes` whole lines each, in file order. They end
 * at the last line start before `size`; what follows (a line still being written) is left to the
 * sequential tail. Returns no chunks when the file is too small to be worth a second thread.
 */
export function planChunks(fd: number, start: number, size: number, chunkBytes: number): Range[] {
  const end = lastLineStart(fd, start, size);
  if (end - start < MIN_PARALLEL_BYTES) return [];
  const chunks: Range[] = [];
  let from = start;
  while (from < end) {
    const cut = end - from <= chunkBytes * 1.5 ? end : lineStartAtOrAfter(fd, from + chunkBytes, end);
    chunks.push({ start: from, end: cut });
    from = cut;
  }
  return chunks;
}

/** The offset just past the last '\n' in [start, size), or start when there is none. */
function lastLineStart(fd: number, start: number, size: number): number {
  const buf = Buffer.allocUnsafe(1 << 16);
  let to = size;
  while (to > start) {
    const from = Math.max(start, to - buf.length);
    const got = readSync(fd, buf, 0, to - from, from);
    if (got <= 0) break;
    const nl = buf.lastIndexOf(10, got - 1);
    if (nl >= 0) return from + nl + 1;
    to = from;
  }
  return start;
}
