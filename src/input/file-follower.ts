// Follows one file path the way a mature log shipper does: it watches the directory (a rename or a
// new file shows up there, not on the old file), with a slow poll as a safety net, and says what
// changed about the path: nothing, rotated (another file is at the path now), truncated (the open
// file shrank below what was read), or missing.

import { closeSync, fstatSync, openSync, statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { Waker } from "./waker";

export type PathChange = "same" | "rotated" | "truncated" | "missing";

export class FileFollower {
  private watcher: FSWatcher | null = null;
  private readonly waker = new Waker();

  constructor(readonly path: string) {}

  /** Starts watching the directory; events only wake `wait`, the checks decide what happened. */
  watch() {
    if (this.watcher) return;
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.poke();
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null; // the slow poll carries on
      });
    } catch {
      this.watcher = null;
    }
  }

  /** Wakes a pending `wait` (a watch event, a signal). */
  poke() {
    this.waker.wake();
  }

  /** Resolves on the next watch event or poke, or after `ms` at the latest. */
  wait(ms: number): Promise<void> {
    return this.waker.wait(ms);
  }

  /** Opens the path, or returns null when nothing is there. */
  open(): number | null {
    try {
      return openSync(this.path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  /**
   * What happened to the path since `fd` was opened on it, given that the open file has been read
   * up to `readOffset`. A rewrite that keeps the file as long (copytruncate, then new writes) is
   * not seen here but by the RewriteGuard on the next read: a check before the read would race it.
   */
  check(fd: number, readOffset: number): PathChange {
    const open = fstatSync(fd);
    if (open.size < readOffset) return "truncated";
    let atPath;
    try {
      atPath = statSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
      throw err;
    }
    if (atPath.ino !== open.ino || atPath.dev !== open.dev) return "rotated";
    return "same";
  }

  close() {
    this.watcher?.close();
    this.watcher = null;
    this.waker.wake();
  }
}

export function closeQuietly(fd: number | null) {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {}
}
