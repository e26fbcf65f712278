// The archive's write half that runs where a file is parsed (a parse thread, or the index follower's
// own): the bytes the parser reads are cut into pieces of CHUNK_BYTES and each is compressed alone,
// so the one writer only inserts blobs. See docs/archive.md.

import type { PackedMessages } from "./messages";

/** Raw bytes per piece: 1 MiB compressed 1.7x faster than 256 KiB and a little smaller (docs/benchmarks.md). */
export const CHUNK_BYTES = 1 << 20;
/** zstd level 1: about 450 MB/s a thread on the samples (level 3: 360) for 3% more bytes. */
export const ZSTD_LEVEL = 1;
/** A file's last piece smaller than this is packed again with the file's new bytes, so a log that grows a line at a time does not become thousands of tiny frames. */
export const REPACK_BELOW = 256 << 10;

/** One compressed piece of a file: [start, start + length) of its generation. */
export interface ArchiveChunk {
  start: number;
  length: number;
  data: Uint8Array;
}

/** Where the archive of a file goes on: what the writer decided when it planned the file. */
export interface ArchiveJob {
  generation: number;
  /** The archive holds [0, from) already (from is at most the parse's own start). */
  from: number;
  /** The archive's last piece, decompressed, when it is small: it is packed again, starting at `prefixStart`. */
  prefix: Uint8Array | null;
  prefixStart: number;
}

/** What one read of a file adds to the archive, written with the file's rows. */
export interface ArchivedBytes {
  generation: number;
  /** Pieces from here on are replaced (anything a killed run left past the committed end). */
  start: number;
  /** The archive now holds [0, to): the parse's indexedTo. */
  to: number;
  chunks: ArchiveChunk[];
  /** The bytes past `to` as read (an unfinished last line), or null. */
  tail: Uint8Array | null;
  /** The messages of the lines in [start, to), or null: they replace any from `messagesFrom` on. */
  messages: PackedMessages | null;
  /** Messages from this byte on are replaced (the pieces may start earlier, at a small last piece packed again). */
  messagesFrom: number;
}

/** This thread's staging buffer, reused from file to file. */
let staging: Buffer | null = null;

/** Cuts the bytes it is given, in file order, into compressed pieces. */
export class Chunker {
  private held = 0;
  private start: number;
  private readonly first: number;
  readonly chunks: ArchiveChunk[] = [];
  private readonly buf: Buffer;

  constructor(private readonly job: ArchiveJob) {
    this.buf = staging ??= Buffer.allocUnsafe(CHUNK_BYTES);
    this.start = this.first = job.prefix ? job.prefixStart : job.from;
    if (job.prefix) this.add(job.prefix, 0, job.prefix.length);
  }

  /** The bytes [s, e) of `src`, which follow what was added before. */
  add(src: Uint8Array, s: number, e: number) {
    while (s < e) {
      if (this.held === 0 && e - s >= CHUNK_BYTES) {
        // a whole piece in the caller's buffer: compressed where it is, not copied first
        this.push(src.subarray(s, s + CHUNK_BYTES));
        s += CHUNK_BYTES;
        continue;
      }
      const n = Math.min(e - s, CHUNK_BYTES - this.held);
      this.buf.set(src.subarray(s, s + n), this.held);
      this.held += n;
      s += n;
      if (this.held === CHUNK_BYTES) this.flush();
    }
  }

  private flush() {
    if (this.held === 0) return;
    this.push(this.buf.subarray(0, this.held));
    this.held = 0;
  }

  private push(bytes: Uint8Array) {
    this.chunks.push({ start: this.start, length: bytes.length, data: Bun.zstdCompressSync(bytes, { level: ZSTD_LEVEL }) });
    this.start += bytes.length;
  }

  /** The pieces, once the bytes up to `to` are added; `tail` is copied. */
  finish(to: number, tail: Uint8Array | null): ArchivedBytes {
    this.flush();
    if (this.start !== to) throw new Error(`archive: the pieces end at byte ${this.start}, the parse at ${to}`);
    return { generation: this.job.generation, start: this.first, to, chunks: this.chunks, tail: tail && tail.length ? Uint8Array.from(tail) : null, messages: null, messagesFrom: this.job.from };
  }
}
