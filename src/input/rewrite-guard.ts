// Reads a followed file and proves that every read came from the content sluice has been reading.
//
// A check before a read cannot do that: a copytruncate followed at once by new writes can land
// between the check and the read, which then takes the middle of the new content for lines (the
// model-based follow test found exactly that). So the check comes after the read, like a seqlock:
// the file's first bytes, and the bytes just before the last read, are compared with the bytes
// sluice has seen there. If they still match, the bytes just read were written before any
// rewrite; if not, the read is discarded and the file is reported as rewritten, and the tail reads
// it again from byte 0. The first bytes alone miss a rewrite in place that keeps them (a tool that
// rewrites the whole file with the same beginning): the bytes before the read position catch it.

import { fstatSync, readSync } from "node:fs";
import { FINGERPRINT_BYTES, TAIL_FINGERPRINT_BYTES, type FileIdentity } from "./file-identity";

export class RewriteGuard {
  /** The file's first bytes as sluice has seen them: at open, and from every read since. */
  private readonly head = Buffer.alloc(FINGERPRINT_BYTES);
  private known: number;
  private readonly scratch = Buffer.alloc(Math.max(FINGERPRINT_BYTES, TAIL_FINGERPRINT_BYTES));
  /** The last bytes seen (read, or anchored at a start offset): the file's bytes [tailEnd - tailLen, tailEnd). */
  private readonly tail = Buffer.alloc(TAIL_FINGERPRINT_BYTES);
  private tailLen = 0;
  private tailEnd = 0;
  /** Set once a read found the bytes seen changed; reads then return nothing. */
  rewritten = false;
  /** Why `rewritten` was set, for the log and source_events. */
  why = "";

  constructor(private readonly fd: number) {
    this.known = readAt(fd, this.head, FINGERPRINT_BYTES, 0);
  }

  /** Device, inode and fingerprint of the file as first seen, from the same bytes the guard holds. */
  identity(): FileIdentity {
    const st = fstatSync(this.fd);
    return { dev: st.dev, ino: st.ino, size: st.size, ...this.fingerprint() };
  }

  /** The hash of the first bytes seen so far, and how many there are. */
  fingerprint(): { fingerprint: string; fingerprintLen: number } {
    return { fingerprint: Bun.hash.xxHash64(this.head.subarray(0, this.known)).toString(16), fingerprintLen: this.known };
  }

  /**
   * Takes the bytes just before `offset` (where reading starts) as the ones seen there, and returns
   * their tail fingerprint, as tailFingerprintOf gives it: the start check and every later read
   * compare the same bytes. "" when the file is now shorter than `offset`.
   */
  anchor(offset: number): string {
    if (this.tailEnd === offset && this.tailLen === Math.min(offset, TAIL_FINGERPRINT_BYTES)) return hashHex(this.tail.subarray(0, this.tailLen));
    const len = Math.min(offset, TAIL_FINGERPRINT_BYTES);
    const got = readAt(this.fd, this.tail, len, offset - len);
    this.tailEnd = offset;
    this.tailLen = got === len ? len : 0;
    return got === len ? hashHex(this.tail.subarray(0, len)) : "";
  }

  /** The bytes seen just before `offset` (anchored there first if need be), for the line reader. */
  bytesBefore(offset: number): Buffer {
    this.anchor(offset);
    return Buffer.from(this.tail.subarray(0, this.tailLen));
  }

  /** A LineReader `read`: reads at `position`, then returns 0 instead if the file was rewritten meanwhile. */
  read = (buf: Buffer, offset: number, length: number, position: number): number => {
    if (this.rewritten) return 0;
    const n = readSync(this.fd, buf, offset, length, position);
    if (n === 0) return 0;
    const bytes = buf.subarray(offset, offset + n);
    const why = !this.learn(bytes, position) || !this.unchanged() ? "its first bytes changed" : !this.tailUnchanged() ? `the bytes before byte ${this.tailEnd} changed` : null;
    if (why !== null) {
      this.rewritten = true;
      this.why = `rewritten in place: ${why}`;
      return 0;
    }
    this.remember(bytes, position);
    return n;
  };

  // Takes in the part of a read that falls within the first bytes; false if it contradicts them.
  private learn(bytes: Buffer, position: number): boolean {
    if (position >= FINGERPRINT_BYTES || position > this.known) return true;
    const end = Math.min(position + bytes.length, FINGERPRINT_BYTES);
    const overlap = Math.min(end, this.known);
    if (overlap > position && !bytes.subarray(0, overlap - position).equals(this.head.subarray(position, overlap))) return false;
    if (end > this.known) {
      bytes.copy(this.head, this.known, this.known - position, end - position);
      this.known = end;
    }
    return true;
  }

  private unchanged(): boolean {
    if (this.known === 0) return true;
    return readAt(this.fd, this.scratch, this.known, 0) === this.known && this.scratch.subarray(0, this.known).equals(this.head.subarray(0, this.known));
  }

  // The bytes last seen are still in the file: one pread of at most 4 KiB per read, not per line.
  private tailUnchanged(): boolean {
    const len = this.tailLen;
    if (len === 0) return true;
    return readAt(this.fd, this.scratch, len, this.tailEnd - len) === len && this.scratch.subarray(0, len).equals(this.tail.subarray(0, len));
  }

  // Keeps the last bytes of a read that passed, as the bytes seen before the next read.
  private remember(bytes: Buffer, position: number) {
    const cap = this.tail.length;
    if (position !== this.tailEnd) this.tailLen = 0; // not where the last read ended: start over
    const n = bytes.length;
    if (n >= cap) {
      bytes.copy(this.tail, 0, n - cap, n);
      this.tailLen = cap;
    } else {
      const keep = Math.min(this.tailLen, cap - n);
      this.tail.copy(this.tail, 0, this.tailLen - keep, this.tailLen);
      bytes.copy(this.tail, keep);
      this.tailLen = keep + n;
    }
    this.tailEnd = position + n;
  }
}

/** The hash tailFingerprintOf (file-identity.ts) gives the same bytes. */
function hashHex(bytes: Uint8Array): string {
  return Bun.hash.xxHash64(bytes).toString(16);
}

function readAt(fd: number, buf: Buffer, len: number, position: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
