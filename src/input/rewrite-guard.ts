// Reads a followed file and proves that every read came from the content sluice has been reading.
//
// A check before a read cannot do that: a copytruncate followed at once by new writes can land
// between the check and the read, which then takes the middle of the new content for lines (the
// model-based follow test found exactly that). So the check comes after the read, like a seqlock:
// the file's first bytes are compared with the first bytes sluice has seen. If they still match,
// the bytes just read were written before any rewrite; if not, the read is discarded and the file
// is reported as rewritten, and the tail reads it again from byte 0.

import { fstatSync, readSync } from "node:fs";
import { FINGERPRINT_BYTES, type FileIdentity } from "./file-identity";

export class RewriteGuard {
  /** The file's first bytes as sluice has seen them: at open, and from every read since. */
  private readonly head = Buffer.alloc(FINGERPRINT_BYTES);
  private known: number;
  private readonly scratch = Buffer.alloc(FINGERPRINT_BYTES);
  /** Set once a read found the first bytes changed; reads then return nothing. */
  rewritten = false;

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

  /** A LineReader `read`: reads at `position`, then returns 0 instead if the file was rewritten meanwhile. */
  read = (buf: Buffer, offset: number, length: number, position: number): number => {
    if (this.rewritten) return 0;
    const n = readSync(this.fd, buf, offset, length, position);
    if (n === 0) return 0;
    if (!this.learn(buf.subarray(offset, offset + n), position) || !this.unchanged()) {
      this.rewritten = true;
      return 0;
    }
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
