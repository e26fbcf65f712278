// Small file helpers of the safe-write path: durable renames, and scratch files that never linger.

import { closeSync, fsyncSync, openSync, rmSync } from "node:fs";

/** fsync a file or a directory (a directory's fsync makes a rename in it durable). */
export function fsyncPath(path: string) {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A failed copy into `tmp` leaves nothing behind: the file and the journal files SQLite may have made for it. */
export function removeScratch(tmp: string) {
  for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
}
