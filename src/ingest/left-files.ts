// Files that left the followed path (rotated or deleted) but may still be written through open
// descriptors: each is read on, committed on its own (never in a transaction with another source),
// until --rotate-wait-ms has passed and it has been quiet for a second; then read to its end.
// Also the files that left the path while no sluice ran, found again by inode at start.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { fstatSync, openSync, statSync } from "node:fs";
import { basename, extname } from "node:path";
import type { EnvelopeExtractor } from "../extract/envelope";
import { closeQuietly } from "../input/file-follower";
import { inodeKey, sameContent } from "../input/file-identity";
import { RewriteGuard } from "../input/rewrite-guard";
import { ingestFinalLine } from "./line-loop";
import { findLeftFile, leftSourcesFor, retireSource, sourceForRewrittenLeftFile, type SourceRow } from "./sources";
import { openTailAt, readTail, type Tail, type TailSettings } from "./tail";

/** A file is quiet when it has not grown for this long; only then is a drained file closed. */
const QUIET_MS = 1000;

interface Draining extends Tail {
  kind: string;
  leftAt: number;
  lastGrowthAt: number;
}

export class LeftFiles {
  private readonly draining: Draining[] = [];

  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly settings: TailSettings & { rotateWaitMs: number },
    private readonly extractor: EnvelopeExtractor,
    private readonly log: ConsolaInstance,
    /** Commits the followed file's batch: before another source is read, one source per transaction. */
    private readonly commitFollowed: () => void,
    /** Told how many lines each read took in, for the tail's rate and its quiet checkpoint. */
    private readonly onLines: (n: number) => void,
  ) {}

  get count(): number {
    return this.draining.length;
  }

  /** A tail that just left the path: read on from where it is. */
  add(t: Tail, kind: string, now: number) {
    this.draining.push({ ...t, kind, leftAt: now, lastGrowthAt: now });
  }

  /**
   * A file rotated away while no sluice ran (killed, restarting, or inside the hand-over exec)
   * still holds the lines past its committed offset. If it is still in the directory, under any
   * name (or in the directory of the file a re-pointed symlink led to), with the same device and
   * inode and the same first bytes and bytes before the committed offset, it is drained like any
   * rotated file before the path is followed: log shippers that only know the path lose those
   * lines. So is a file that had left the path before the stop and was still being drained: its
   * source is retired already, but a kill inside --rotate-wait-ms left part of it unread (the
   * model-based follow test found this). `followed` is the file the tail goes on with, which is
   * never drained beside it. Returns the active source it retired, which the next file at the
   * path follows, or null.
   */
  recoverAtStart(followed: { dev: number; ino: number } | null): { id: number; kind: string } | null {
    const sources = leftSourcesFor(this.db, this.path);
    if (!sources.length) return null;
    const listings = new Map<string, Map<string, string>>(); // each directory read once
    const own = databaseFileKeys(this.db.filename);
    let atPath: string | null = null;
    try {
      atPath = inodeKey(statSync(this.path));
    } catch {}
    let follows: { id: number; kind: string } | null = null;
    for (const prev of sources) {
      const key = inodeKey(prev);
      if (key === atPath || (followed && key === inodeKey(followed)) || own.has(key)) continue;
      if (prev.state === "active" && followed) continue; // the inherited descriptor is that file
      const candidate = findLeftFile(this.path, prev, listings);
      if (!candidate || !(provesIdentity(prev) || (this.rotatedName(candidate, prev) && !bornAfter(candidate, prev)))) continue;
      if (this.recover(prev, candidate)) follows = prev.state === "active" ? { id: prev.id, kind: "rotated" } : follows;
    }
    return follows;
  }

  /**
   * A source whose bytes prove nothing (followed while empty, nothing committed) matches any file
   * with its inode, and an inode is reused once its file is deleted: the model-based test saw the
   * tail's own stderr file take the inode of a deleted capture file, and be read as one. Such a
   * file is taken only when named as rotation names it: the capture's name (or its file's, through
   * a symlink) without its extension, and more (.1, -20261201.jsonl, .gz).
   */
  private rotatedName(candidate: string, prev: SourceRow): boolean {
    const name = basename(candidate);
    return [this.path, prev.real_path].some((p) => p !== null && name.startsWith(stem(basename(p))));
  }

  /**
   * Drains `candidate` as `prev` when it holds unread lines of that source; false if it does not.
   * Its first bytes must be the recorded ones. If the bytes before the committed offset are not,
   * it was rewritten while sluice was down: a new source, read from byte 0 (or, with no first
   * bytes recorded, nothing says it is that file at all).
   */
  private recover(prev: SourceRow, candidate: string): boolean {
    const fd = openSync(candidate, "r");
    const size = fstatSync(fd).size;
    const unread = prev.state === "active" ? size >= prev.committed_offset : size > prev.committed_offset;
    const guard = new RewriteGuard(fd);
    const sameEnd = prev.tail_fingerprint === null || prev.committed_offset === 0 || guard.anchor(prev.committed_offset) === prev.tail_fingerprint;
    if (!unread || !sameContent(fd, prev) || (!sameEnd && prev.fingerprint_len === 0)) {
      closeQuietly(fd);
      return false;
    }
    if (prev.state === "active") retireSource(this.db, prev.id, "rotated", `found as ${candidate} at start; read on from byte ${prev.committed_offset}`);
    if (sameEnd) {
      this.add(openTailAt(this.db, this.settings, fd, prev, prev.committed_offset, guard), "rotated", performance.now());
      this.log.info(`${this.path}: ${candidate} (source ${prev.id}) left the path while sluice was not running; reading it on from byte ${prev.committed_offset}`);
    } else {
      const source = sourceForRewrittenLeftFile(this.db, prev, guard.identity(), prev.committed_offset);
      this.add(openTailAt(this.db, this.settings, fd, source, 0, guard), "rotated", performance.now());
      this.log.warn(`${this.path}: ${candidate} (source ${prev.id}) left the path and was rewritten while sluice was not running; reading it from byte 0 as source ${source.id}`);
    }
    return true;
  }

  /** Reads what each left file holds now; closes those done (all of them with `finishAll`). */
  drain(now: number, finishAll: boolean) {
    for (let i = this.draining.length - 1; i >= 0; i--) {
      const d = this.readOn(i, now);
      if (finishAll || (now - d.leftAt >= this.settings.rotateWaitMs && now - d.lastGrowthAt >= QUIET_MS)) {
        this.finish(d);
        this.draining.splice(i, 1);
      }
    }
  }

  /**
   * Reads file `i` on. A file can be truncated and rewritten after it left the path (copytruncate,
   * then a delete): its new content is reachable only through this descriptor, so it is read from
   * byte 0 as a new source. Twice at most per pass: a file rewritten again at once is read on the next.
   */
  private readOn(i: number, now: number): Draining {
    let d = this.draining[i]!;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (fstatSync(d.fd).size > d.reader.nextLineOffset) {
        this.commitFollowed();
        this.onLines(readTail(d, this.extractor));
        d.writer.commit(d.reader.nextLineOffset);
        d.reader.resume();
        d.lastGrowthAt = now;
      }
      if (!d.guard.rewritten && fstatSync(d.fd).size >= d.reader.nextLineOffset) break;
      this.commitFollowed(); // one source per transaction
      d.writer.close(d.reader.nextLineOffset);
      const guard = new RewriteGuard(d.fd);
      const source = sourceForRewrittenLeftFile(this.db, d.source, guard.identity(), d.reader.nextLineOffset);
      this.log.warn(`${this.path}: the file of source ${d.source.id}, which had left the path, was truncated or rewritten below byte ${d.reader.nextLineOffset}; reading it from byte 0 as source ${source.id}`);
      d = this.draining[i] = { ...openTailAt(this.db, this.settings, d.fd, source, 0, guard), kind: d.kind, leftAt: d.leftAt, lastGrowthAt: now };
    }
    return d;
  }

  private finish(d: Draining) {
    this.commitFollowed();
    // Nobody will finish its last line now: a line without '\n' is taken or rejected.
    ingestFinalLine(d.reader, this.extractor, d.writer, true);
    d.writer.close(d.reader.nextLineOffset);
    closeQuietly(d.fd);
    this.log.info(`${this.path}: source ${d.source.id} (${d.kind}) read to its end, byte ${d.reader.nextLineOffset}`);
  }

  /** Closes every descriptor (the run is over; what was read is committed). */
  closeAll() {
    for (const d of this.draining) closeQuietly(d.fd);
  }
}

/**
 * The device and inode of the database's own files. A deleted capture file's inode is taken over
 * by the next file made, and SQLite makes its -wal and -shm again after a clean close, so one of
 * them can carry a left source's inode. Such a file is never a candidate: opening and closing it
 * would drop every POSIX lock this process holds on it (SQLite's, on the -shm among them), and
 * another process, finding the -shm unlocked, truncates it under this one's mapping (the
 * model-based follow test saw the tail die of SIGBUS that way).
 */
function databaseFileKeys(dbPath: string): Set<string> {
  const keys = new Set<string>();
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`]) {
    try {
      keys.add(inodeKey(statSync(f)));
    } catch {}
  }
  return keys;
}

/**
 * True when `candidate` was made after sluice first opened `prev`'s file: then it is another file
 * that took over the inode, not that file renamed (a rename keeps the birth time). The
 * model-based follow test saw a copytruncate's copy, named as rotation names it, take the inode of
 * an empty capture file deleted before: read as that file, its lines went in twice. The file
 * system's clock lags the wall clock by a tick, never leads it, so a file that existed when the
 * source was made is never judged newer. False when the file system keeps no birth time.
 */
function bornAfter(candidate: string, prev: SourceRow): boolean {
  try {
    const born = statSync(candidate).birthtimeMs;
    return born > 0 && born > Date.parse(prev.created_at);
  } catch {
    return false;
  }
}

/** True when what was recorded of a source's bytes can tell its file from another. */
function provesIdentity(s: SourceRow): boolean {
  return s.fingerprint_len > 0 || (s.committed_offset > 0 && s.tail_fingerprint !== null);
}

/** A file name without its extension: "sse_lines" for sse_lines.jsonl. */
function stem(name: string): string {
  const ext = extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}
