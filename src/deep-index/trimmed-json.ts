// JSON.parse of an agent log line without its bulk. Most of a transcript's bytes are in a few long
// strings the index never reads: file contents in tool results, the text of Write and Edit calls,
// command output. Parsing them is most of an index run. So before a long line is parsed, every
// string in it longer than LONG_STRING_BYTES is cut to its first HEAD_BYTES and last TAIL_BYTES,
// joined by "…"; what the parsers read of such a string (a prompt's first 200 characters, a
// command tag at its start, a Codex output's exit code at its end) is still there.
//
// Finding the strings costs one native byte search (memchr) per quote, not one step per byte: a
// quote opens a string, the next quote not escaped by an odd run of backslashes closes it. That
// holds only for valid JSON; a line that is not is parsed whole, so it is still counted malformed.

/** Lines shorter than this are parsed whole: cutting would save too little. */
export const TRIM_LINE_BYTES = 16 << 10;
/** Strings longer than this are cut. */
export const LONG_STRING_BYTES = 2048;
const HEAD_BYTES = 1024;
const TAIL_BYTES = 256;
const QUOTE = 0x22, BACKSLASH = 0x5c, U = 0x75;
const ELLIPSIS = Buffer.from("…");

/** Where a trimmed line is put together: reused, up to this size (a longer line gets its own). */
const OUT_MAX_BYTES = 1 << 20;
let reused = Buffer.allocUnsafe(64 << 10);

/** The object, array or value of the line `buf[start, end)`, or undefined when it is not JSON. */
export function parseLine(buf: Buffer, start: number, end: number): unknown {
  const trimmed = end - start >= TRIM_LINE_BYTES ? trimLongStrings(buf, start, end) : null;
  if (trimmed !== null) {
    try {
      return JSON.parse(trimmed);
    } catch {} // a cut that broke the line (not expected): parse it whole
  }
  // Bun's JSONL parser reads the bytes in place (no string of the line first), about a fifth
  // faster than JSON.parse of a decoded line on the corpus's short lines. It skips a byte-order
  // mark, but only at the start of the buffer, so a line that starts with one (or with any
  // non-ASCII byte: never JSON) takes JSON.parse, which counts it malformed wherever it is.
  if (buf[start]! < 0x80) {
    const r = Bun.JSONL.parseChunk(buf, start, end);
    return r.error === null && r.done && r.values.length === 1 ? r.values[0] : undefined;
  }
  try {
    return JSON.parse(buf.toString("utf8", start, end));
  } catch {
    return undefined;
  }
}

/** The line's text with its long strings cut, or null when it has none or is not JSON. */
export function trimLongStrings(buf: Buffer, start: number, end: number): string | null {
  if (reused.length < end - start && end - start <= OUT_MAX_BYTES) reused = Buffer.allocUnsafe(OUT_MAX_BYTES);
  const out = reused.length >= end - start ? reused : Buffer.allocUnsafe(end - start);
  let n = 0, copyFrom = start, pos = start, cut = false;
  for (;;) {
    const open = buf.indexOf(QUOTE, pos);
    if (open < 0 || open >= end) break;
    let close = open + 1;
    for (;;) {
      close = buf.indexOf(QUOTE, close);
      if (close < 0 || close >= end) return null; // an unterminated string: not JSON
      let k = close - 1;
      while (buf[k] === BACKSLASH) k--;
      if ((close - 1 - k) % 2 === 0) break;
      close++;
    }
    pos = close + 1;
    if (close - open - 1 <= LONG_STRING_BYTES) continue;
    const headEnd = safeCut(buf, open + 1, open + 1 + HEAD_BYTES);
    const tailStart = safeCut(buf, open + 1, close - TAIL_BYTES);
    n += buf.copy(out, n, copyFrom, headEnd);
    n += ELLIPSIS.copy(out, n);
    copyFrom = tailStart;
    cut = true;
  }
  if (!cut) return null;
  n += buf.copy(out, n, copyFrom, end);
  return out.toString("utf8", 0, n);
}

/** `cut`, or the nearest position before it that is neither inside an escape nor inside a UTF-8 character. */
function safeCut(buf: Buffer, from: number, cut: number): number {
  const esc = escapeAround(buf, from, cut);
  if (esc !== -1) cut = esc;
  while (cut > from && (buf[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/** The start of the escape sequence that `cut` falls inside (not at its start), or -1. */
function escapeAround(buf: Buffer, from: number, cut: number): number {
  // An escape is at most 6 bytes (\uXXXX); escapes never overlap, so the nearest backslash decides.
  for (let i = cut - 1; i >= from && i >= cut - 5; i--) {
    if (buf[i] !== BACKSLASH) continue;
    let k = i;
    while (k > from && buf[k - 1] === BACKSLASH) k--;
    if ((i - k) % 2 === 1) return -1; // buf[i] is the second of "\\": that escape ends at i + 1 <= cut
    const length = buf[i + 1] === U ? 6 : 2;
    return i + length > cut ? i : -1;
  }
  return -1;
}
