// A file's identity, decided here for both pipelines: its device and inode, and a hash of its first
// bytes. The inode says which file is at a path; the fingerprint says whether its content is still
// the content sluice has read (copytruncate and editors keep the inode but change the bytes). The
// capture's sources and the deep index's agent_files both record these three, and both ask the
// questions below of an open file.

import { fstatSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

/** How many leading bytes the fingerprint covers once the file is that long. */
export const FINGERPRINT_BYTES = 4096;

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  fingerprint: string;
  fingerprintLen: number;
}

/** What a table recorded of a file (sources, agent_files): device, inode and fingerprint. */
export interface RecordedIdentity {
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  fingerprint_len: number;
}

/** How many leading bytes the fingerprint of a file of `size` bytes covers. */
export function fingerprintLength(size: number): number {
  return Math.min(size, FINGERPRINT_BYTES);
}

export function identify(fd: number): FileIdentity {
  const st = fstatSync(fd);
  const len = fingerprintLength(st.size);
  return { dev: st.dev, ino: st.ino, size: st.size, fingerprint: fingerprintOf(fd, len), fingerprintLen: len };
}

/** Hash of the first `len` bytes, or "" when the file is shorter than that. */
export function fingerprintOf(fd: number, len: number): string {
  if (len === 0) return Bun.hash.xxHash64(new Uint8Array(0)).toString(16);
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, got);
    if (n === 0) return "";
    got += n;
  }
  return Bun.hash.xxHash64(buf).toString(16);
}

/**
 * How many bytes before a read offset the tail fingerprint covers: a file rewritten in place with
 * its first bytes unchanged (an editor's save, a tool that rewrites a transcript) differs here.
 */
export const TAIL_FINGERPRINT_BYTES = 4096;

/**
 * Hash of the bytes just before `end` (at most TAIL_FINGERPRINT_BYTES of them): recorded with a
 * committed offset, and compared before reading on from it. "" when the file is now shorter.
 */
export function tailFingerprintOf(fd: number, end: number): string {
  const len = Math.min(end, TAIL_FINGERPRINT_BYTES);
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, end - len + got);
    if (n === 0) return "";
    got += n;
  }
  return Bun.hash.xxHash64(buf).toString(16);
}

/**
 * True when the bytes before `end` are still the ones recorded there. A record without a tail
 * fingerprint (taken before they were kept) proves nothing and counts as the same.
 */
export function sameTail(fd: number, end: number, recorded: string | null): boolean {
  return recorded === null || end === 0 || tailFingerprintOf(fd, end) === recorded;
}

/** "dev:ino", the key of a file in filesByInode. */
export function inodeKey(f: { dev: number | null; ino: number | null }): string {
  return `${f.dev}:${f.ino}`;
}

/** True when `st` (a stat of the file now) is the device and inode recorded. */
export function sameInode(recorded: RecordedIdentity, st: { dev: number; ino: number }): boolean {
  return recorded.dev === st.dev && recorded.ino === st.ino;
}

/**
 * True when the open file still starts with the bytes recorded (whatever its inode). A record with
 * no fingerprint (none taken yet) proves nothing either way and counts as the same content.
 */
export function sameContent(fd: number, recorded: RecordedIdentity): boolean {
  return recorded.fingerprint === null || fingerprintOf(fd, recorded.fingerprint_len) === recorded.fingerprint;
}

/**
 * The regular files in a directory by inodeKey, each with its path: how a file that left a path
 * (rotated, moved aside) is found again. Empty when the directory cannot be read.
 */
export function filesByInode(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile()) out.set(inodeKey(st), p);
    } catch {}
  }
  return out;
}
