// A file's identity: its device and inode, and a hash of its first bytes. The inode says which file
// is at a path; the fingerprint says whether its content is still the content sluice has read
// (copytruncate and editors keep the inode but change the bytes).

import { fstatSync, readSync } from "node:fs";

/** How many leading bytes the fingerprint covers once the file is that long. */
export const FINGERPRINT_BYTES = 4096;

export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  fingerprint: string;
  fingerprintLen: number;
}

export function identify(fd: number): FileIdentity {
  const st = fstatSync(fd);
  const len = Math.min(st.size, FINGERPRINT_BYTES);
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
