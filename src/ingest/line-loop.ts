// The per-line loop: lines from a LineReader, fields from the extractor, rows into the writer.
// Everything here runs once per line, so it does as little as it can: UTF-8 is checked a whole
// run of lines at a time, and the raw bytes go to SQLite without ever becoming a JS string.

import { isUtf8 } from "node:buffer";
import type { EnvelopeExtractor } from "../extract/envelope";
import type { SseWriter } from "./sse-writer";
import type { LineReader } from "../input/line-reader";

const LF = 10, CR = 13;

/**
 * Ingests every complete line the reader has, or the lines of `maxChunks` reads of it: returns
 * false at EOF (or the reader's end offset), true when it stopped after `maxChunks` (a caller that
 * yields to the event loop between chunks, so that a stop signal is seen).
 */
export function ingestLines(reader: LineReader, extractor: EnvelopeExtractor, writer: SseWriter, onChunk?: (nextOffset: number) => void, maxChunks = Infinity): boolean {
  const fields = extractor.fields;
  let chunks = 0;
  while (reader.next()) {
    const buf = reader.buf;
    const base = reader.base;
    const end = reader.end;
    let s = reader.start;
    if (base + s === 0) s = skipBom(buf, s, end);
    const allUtf8 = isUtf8(buf.subarray(s, end));
    while (s < end) {
      const nl = buf.indexOf(LF, s);
      let e = nl;
      if (e > s && buf[e - 1] === CR) e--;
      if (e > s) {
        const why = allUtf8 || isUtf8(buf.subarray(s, e)) ? extractor.extract(buf, s, e) : "not UTF-8";
        if (why === null) writer.row(fields, extractor.decoded, buf, s, e, base + s);
        else if (!isBlank(buf, s, e)) writer.reject(base + s, e - s, why, buf.subarray(s, e));
      }
      s = nl + 1;
      writer.lineDone(base + s);
    }
    onChunk?.(base + end);
    if (++chunks >= maxChunks) return true;
  }
  return false;
}

/**
 * At EOF of a file that is not followed, the bytes after the last newline: ingested when they are
 * a complete JSON object (a last line without '\n'), else left for a later run, since the writer
 * may still be finishing that line. Returns whether the line was taken.
 */
export function ingestFinalLine(reader: LineReader, extractor: EnvelopeExtractor, writer: SseWriter, streamEnded = false): boolean {
  const pending = reader.pending();
  if (pending.length === 0) return false;
  let e = reader.end + pending.length;
  const s = reader.base + reader.end === 0 ? skipBom(reader.buf, reader.end, e) : reader.end;
  if (reader.buf[e - 1] === CR) e--;
  if (isBlank(reader.buf, s, e)) return false;
  const why = extractor.extractChecked(reader.buf, s, e);
  const offset = reader.base + s;
  if (why !== null) {
    // A closed stream (stdin at EOF) cannot finish the line any more; a file still can.
    if (!streamEnded) return false;
    writer.reject(offset, e - s, `${why} (last line, no newline)`, reader.buf.subarray(s, e));
  } else writer.row(extractor.fields, extractor.decoded, reader.buf, s, e, offset);
  reader.consumePending();
  writer.commit(reader.nextLineOffset);
  return true;
}

/**
 * A UTF-8 byte order mark at the very start of a file is an encoding marker, not part of the first
 * line: that line is ingested without it, at byte offset 3.
 */
function skipBom(buf: Uint8Array, s: number, end: number): number {
  return end - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf ? s + 3 : s;
}

/** Whitespace-only lines count as blank, like empty ones: no row and no reject. */
function isBlank(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}
