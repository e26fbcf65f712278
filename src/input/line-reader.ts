// Reads a file descriptor in large chunks into one reused buffer and hands out runs of complete
// lines. `fs.readSync` into a reused Buffer beat `Bun.file().stream()` by about 25% end to end
// (docs/design.md, "Why not Bun.file streaming"), because nothing is allocated per chunk.

import { readSync } from "node:fs";
import { TAIL_FINGERPRINT_BYTES } from "./file-identity";

export interface LineReaderOptions {
  /** Initial buffer size; it grows (up to maxLine) only for a line longer than the buffer. */
  bufferBytes?: number;
  /** Lines longer than this are not buffered whole: they are reported through onOversized. */
  maxLine: number;
  /** Stop at this offset (exclusive); it must be a line start. Default: read to EOF. */
  endOffset?: number;
  /** A pipe or terminal: read sequentially, since it cannot be read at an offset. */
  stream?: boolean;
  /**
   * Reads instead of a plain pread of the fd (pushed chunks of a stream, a read checked against a
   * rewrite); 0 means "nothing now". `position` is the file offset of the read.
   */
  read?: (buf: Buffer, offset: number, length: number, position: number) => number;
  /** The bytes just before the start offset, when the caller has them (the rewrite guard's). */
  behind?: Uint8Array;
}

/** A line longer than maxLine: where it starts, how long it is, and its first bytes. */
export interface OversizedLine {
  offset: number;
  length: number;
  head: Buffer;
}

const HEAD_BYTES = 4096;

export class LineReader {
  buf: Buffer;
  /** File offset of buf[0]. */
  base: number;
  /** [start, end) of the complete lines handed out by the last `next()`; end is just past a '\n'. */
  start = 0;
  end = 0;
  private filled = 0; // bytes of buf holding data
  private readPos: number; // file offset of the next read
  private eof = false;
  private skipping: OversizedLine | null = null;
  private readonly endOffset: number;
  // The last bytes of the lines dropped from the buffer: behind[0, behindLen) are the file's bytes
  // just before behindEnd. The tail fingerprint of a committed offset is hashed from them and the
  // buffer, never read from the file again, which may have been rewritten since.
  private readonly behind = Buffer.allocUnsafe(TAIL_FINGERPRINT_BYTES);
  private behindLen = 0;
  private behindEnd: number;
  private readonly scratch = Buffer.allocUnsafe(TAIL_FINGERPRINT_BYTES);

  constructor(
    private readonly fd: number,
    startOffset: number,
    private readonly opts: LineReaderOptions,
    private readonly onOversized: (line: OversizedLine) => void,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(opts.bufferBytes ?? 8 << 20, opts.maxLine + 1));
    this.base = startOffset;
    this.readPos = startOffset;
    this.endOffset = opts.endOffset ?? Infinity;
    this.behindEnd = startOffset;
    if (opts.behind) {
      const b = opts.behind.subarray(Math.max(0, opts.behind.length - this.behind.length));
      this.behind.set(b);
      this.behindLen = b.length;
    }
  }

  /** File offset just past the last complete line handed out: the next line's start. */
  get nextLineOffset(): number {
    return this.skipping ? this.skipping.offset : this.base + this.end;
  }

  /**
   * Makes the next run of complete lines available as buf[start, end). Returns false when no
   * complete line is left before EOF (or endOffset); what remains is `pending()`.
   */
  next(): boolean {
    this.compact();
    for (;;) {
      if (this.eof) return false;
      if (!this.skipping && this.filled === this.buf.length) this.makeRoom();
      const want = Math.min(this.buf.length - this.filled, this.endOffset - this.readPos);
      const got = want > 0 ? this.read(want) : 0;
      if (got === 0) {
        this.eof = true;
        return false;
      }
      const from = this.filled;
      this.filled += got;
      this.readPos += got;
      if (this.skipping && !this.skipOversized(from)) continue;
      if (this.filled === 0) continue;
      const last = this.buf.lastIndexOf(10, this.filled - 1);
      if (last >= 0) {
        this.start = 0;
        this.end = last + 1;
        return true;
      }
    }
  }

  private read(want: number): number {
    if (this.opts.read) return this.opts.read(this.buf, this.filled, want, this.readPos);
    for (;;) {
      try {
        return readSync(this.fd, this.buf, this.filled, want, this.opts.stream ? null : this.readPos);
      } catch (err) {
        // A non-blocking stdin has no data yet: wait for it rather than mistake it for EOF.
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
        Bun.sleepSync(5);
      }
    }
  }

  /** Gives back a buffer that grew for a long line, once what it holds fits in `bytes`. */
  shrink(bytes: number) {
    if (this.buf.length <= bytes || this.filled - this.end > bytes / 2) return;
    this.compact();
    const smaller = Buffer.allocUnsafe(bytes);
    this.buf.copy(smaller, 0, 0, this.filled);
    this.buf = smaller;
  }

  /** After EOF, lets the next `next()` read again (a followed file that grew). */
  resume() {
    this.eof = false;
  }

  /** Bytes after the last complete line at EOF: a line still being written, or a last line without '\n'. */
  pending(): Buffer {
    return this.buf.subarray(this.end, this.filled);
  }

  /**
   * Hash of the bytes just before `offset` (the last TAIL_FINGERPRINT_BYTES of them), as
   * tailFingerprintOf would give it, from the bytes this reader handed out: `offset` is the next
   * line's start, or any line start in the buffer. Null when they are not all in memory any more
   * (after an oversized line, or at a start without `behind`): the caller reads them then.
   */
  tailFingerprint(offset: number): string | null {
    const want = Math.min(offset, TAIL_FINGERPRINT_BYTES);
    const inBuf = offset - this.base;
    if (inBuf > this.filled) return null;
    if (inBuf >= want) return hashHex(this.buf.subarray(inBuf - want, inBuf));
    if (inBuf <= 0) return offset === this.behindEnd && this.behindLen >= want ? hashHex(this.behind.subarray(this.behindLen - want, this.behindLen)) : null;
    const fromBehind = want - inBuf;
    if (this.behindEnd !== this.base || this.behindLen < fromBehind) return null;
    this.behind.copy(this.scratch, 0, this.behindLen - fromBehind, this.behindLen);
    this.buf.copy(this.scratch, fromBehind, 0, inBuf);
    return hashHex(this.scratch.subarray(0, want));
  }

  /** Marks the pending bytes as consumed (a final line without '\n' that was ingested). */
  consumePending() {
    this.compact();
    this.keepBehind(this.buf, this.filled);
    this.base += this.filled;
    this.filled = 0;
  }

  /**
   * At EOF of a file that is not followed: reports an oversized last line that has no newline
   * (it is too long whatever comes after it) and consumes it. Returns whether there was one.
   */
  finishOversized(): boolean {
    const s = this.skipping;
    if (!s) return false;
    this.skipping = null;
    s.length += this.filled;
    this.base += this.filled;
    this.filled = this.start = this.end = 0;
    this.onOversized(s);
    return true;
  }

  // Drops the lines already handed out and moves the unfinished tail to the front.
  private compact() {
    if (this.end === 0) return;
    this.keepBehind(this.buf, this.end);
    const tail = this.filled - this.end;
    if (tail > 0) this.buf.copy(this.buf, 0, this.end, this.filled);
    this.base += this.end;
    this.filled = tail;
    this.start = this.end = 0;
  }

  /**
   * Keeps the last bytes of `bytes[0, len)`, which are the file's bytes just before base + len, as
   * the bytes behind. One copy of at most 4 KiB per buffer refill, not per line. Bytes skipped in
   * an oversized line are never kept, so what was kept before them no longer adjoins the buffer.
   */
  private keepBehind(bytes: Uint8Array, len: number) {
    const cap = this.behind.length;
    if (this.behindEnd !== this.base) this.behindLen = 0;
    if (len >= cap) {
      this.behind.set(bytes.subarray(len - cap, len));
      this.behindLen = cap;
    } else {
      const keep = Math.min(this.behindLen, cap - len);
      this.behind.copy(this.behind, 0, this.behindLen - keep, this.behindLen);
      this.behind.set(bytes.subarray(0, len), keep);
      this.behindLen = keep + len;
    }
    this.behindEnd = this.base + len;
  }

  private makeRoom() {
    if (this.buf.length <= this.opts.maxLine) {
      const bigger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.opts.maxLine + 1));
      this.buf.copy(bigger, 0, 0, this.filled);
      this.buf = bigger;
      return;
    }
    // The buffer holds maxLine+1 bytes and no newline: this line is oversized.
    this.skipping = { offset: this.base, length: this.filled, head: Buffer.from(this.buf.subarray(0, HEAD_BYTES)) };
    this.base += this.filled;
    this.filled = 0;
  }

  // Discards bytes of an oversized line up to its newline. Returns true once the line has ended
  // (it is then reported, and what followed it is at the front of the buffer).
  private skipOversized(from: number): boolean {
    const s = this.skipping!;
    const nl = this.buf.indexOf(10, from);
    if (nl < 0 || nl >= this.filled) {
      s.length += this.filled - from;
      this.base += this.filled;
      this.filled = 0;
      return false;
    }
    s.length += nl - from;
    this.skipping = null;
    this.onOversized(s);
    const after = nl + 1;
    this.buf.copy(this.buf, 0, after, this.filled);
    this.base += after;
    this.filled -= after;
    return true;
  }
}

/** The hash tailFingerprintOf (input/file-identity.ts) gives the same bytes. */
function hashHex(bytes: Uint8Array): string {
  return Bun.hash.xxHash64(bytes).toString(16);
}
