// The files the index has read (agent_files), matched to the files listed now by identity first:
// a row is a file, known by its device, inode and first bytes, wherever it is found. A renamed file
// (its project directory renamed) keeps its row and its session; a path is only where a file was
// last seen, so a new file at an old path, or a file rewritten through a rename, is matched by path
// only when no file moved away from it.

import { closeSync, openSync } from "node:fs";
import { inodeKey, sameContent } from "../input/file-identity";
import type { AgentFile } from "./discover";
import type { KnownFile } from "./index-writer";

/** A listed file and the rows it may be: the one of its inode, and the one of its path. */
export interface FileMatch {
  f: AgentFile;
  /** The row of the same device and inode (found under another path, only if the first bytes match; the rest is checked when the file is opened). */
  byInode: KnownFile | null;
  /** The row last seen at this path, unless another listed file is that row's inode. */
  atPath: KnownFile | null;
}

export class KnownFiles {
  private readonly byInode = new Map<string, KnownFile[]>();
  private readonly byPath = new Map<string, KnownFile>();

  constructor(rows: KnownFile[]) {
    for (const r of rows) {
      // rows in id order: the latest row of a path or inode is the one kept last
      this.byPath.set(r.path, r);
      if (r.dev === null || r.ino === null) continue;
      const key = inodeKey(r);
      const list = this.byInode.get(key);
      if (list) list.push(r);
      else this.byInode.set(key, [r]);
    }
  }

  /** Each listed file with its candidate rows. */
  match(files: AgentFile[]): FileMatch[] {
    const claimed = new Set<number>();
    const out = files.map((f) => {
      const byInode = this.inodeRow(f);
      if (byInode) claimed.add(byInode.id);
      return { f, byInode, atPath: null as KnownFile | null };
    });
    for (const m of out) {
      const r = this.byPath.get(m.f.path);
      if (r && (r === m.byInode || !claimed.has(r.id))) m.atPath = r;
    }
    return out;
  }

  /**
   * The row of the file's inode: the one of its path, else the latest one whose first bytes the
   * file still starts with (it moved here). A row of other first bytes is a deleted file whose
   * inode the file system gave to this one: taken, it would claim the row its own path holds, and a
   * file replaced at that path would get a second row, the old content counted beside the new.
   */
  private inodeRow(f: AgentFile): KnownFile | null {
    const rows = this.byInode.get(inodeKey(f.listed));
    if (!rows) return null;
    const here = rows.find((r) => r.path === f.path);
    if (here) return here;
    for (let i = rows.length - 1; i >= 0; i--) if (startsAsRead(f.path, rows[i]!)) return rows[i]!;
    return null;
  }
}

/** True when the file at `path` starts with the bytes `row` read: read only for a file found under another path. */
function startsAsRead(path: string, row: KnownFile): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false; // gone since the listing: the plan skips it
  }
  try {
    return sameContent(fd, row);
  } finally {
    closeSync(fd);
  }
}
