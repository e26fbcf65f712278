// The sources table: which input each row came from, and how far it has been committed.
// Deciding whether the file at a path is still the one sluice was reading lives here too, because
// that decision and its record must be one transaction.

import type { Database } from "bun:sqlite";
import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { count } from "../runtime/format";
import { filesByInode, inodeKey, sameContent, sameInode, sameTail, type FileIdentity } from "../input/file-identity";

export interface SourceRow {
  id: number;
  path: string;
  kind: "file" | "stdin";
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  fingerprint_len: number;
  committed_offset: number;
  lines: number;
  rejects: number;
  state: "active" | "retired";
  /**
   * Hash of the bytes just before committed_offset (tailFingerprintOf), set with the offset in its
   * transaction; null when none was taken (before migration 9, stdin). See migrations/009.ts for
   * why it is a column.
   */
  tail_fingerprint: string | null;
  /** The file's own path when the source was made (through any symlink); null if unknown. */
  real_path: string | null;
  /** When sluice first opened the file as this source (ISO 8601). */
  created_at: string;
}

/** What changed about the file at a path since the last run. */
export type IdentityChange = "new" | "same" | "moved" | "rotated" | "truncated" | "replaced";

export function getSource(db: Database, id: number): SourceRow {
  return db.query("SELECT * FROM sources WHERE id = ?").get(id) as SourceRow;
}

export function activeSourceFor(db: Database, path: string): SourceRow | null {
  return (db.query("SELECT * FROM sources WHERE path = ? AND kind = 'file' AND state = 'active' ORDER BY id DESC LIMIT 1").get(path) as SourceRow | null) ?? null;
}

/**
 * The sources of a path that may have left it, newest first: for each file (device and inode) only
 * its newest source, since a file truncated in place gets a new one and the old one's offsets no
 * longer apply.
 */
export function leftSourcesFor(db: Database, path: string): SourceRow[] {
  return db
    .query(
      `SELECT * FROM sources WHERE id IN (SELECT max(id) FROM sources WHERE path = ? AND kind = 'file' AND ino IS NOT NULL GROUP BY dev, ino)
       ORDER BY id DESC`,
    )
    .all(path) as SourceRow[];
}

/**
 * Said before a stdin source is made when the database already holds one: stdin has no identity
 * (no device, inode or first bytes to recognise), so piping the same lines again stores them again.
 * Null when this is the first stdin source.
 */
export function stdinAgainWarning(db: Database): string | null {
  const r = db.query("SELECT count(*) AS n, sum(committed_offset) AS bytes FROM sources WHERE kind = 'stdin'").get() as { n: number; bytes: number | null };
  if (r.n === 0) return null;
  const earlier = r.n === 1 ? "a stdin source" : `${r.n} stdin sources`;
  return `stdin has no identity: this database already holds ${earlier} (${count(r.bytes ?? 0)} bytes), and what is piped now is appended as a new source, lines ingested before included; to ingest a stream exactly once, capture it to a file and ingest the file`;
}

export function createSource(db: Database, path: string, kind: "file" | "stdin", ident: FileIdentity | null, realPath: string | null = null): SourceRow {
  const row = db
    .query(
      "INSERT INTO sources (path, kind, dev, ino, fingerprint, fingerprint_len, created_at, real_path) VALUES (?,?,?,?,?,?,?,?) RETURNING *",
    )
    .get(path, kind, ident?.dev ?? null, ident?.ino ?? null, ident?.fingerprint ?? null, ident?.fingerprintLen ?? 0, new Date().toISOString(), realPath);
  return row as SourceRow;
}

/**
 * The path of the file `ident` through any symlink in `path`, or null when the path names another
 * file by now (it moved between the open and this look).
 */
export function realPathOf(path: string, ident: { dev: number; ino: number }): string | null {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return st.dev === ident.dev && st.ino === ident.ino ? real : null;
  } catch {
    return null;
  }
}

export function recordSourceEvent(db: Database, sourceId: number, kind: string, detail: string) {
  db.run("INSERT INTO source_events (source_id, at, kind, detail) VALUES (?,?,?,?)", [sourceId, new Date().toISOString(), kind, detail]);
}

/**
 * Moves a source's committed offset and adds to its counts: params (offset, rows, rejects, time,
 * source id, tail fingerprint of the offset or null). Always in the same transaction as the rows
 * it covers, so the tail fingerprint always describes the committed offset.
 */
export const ADVANCE_SOURCE_SQL =
  "UPDATE sources SET committed_offset = ?1, lines = lines + ?2, rejects = rejects + ?3, last_commit_at = ?4, tail_fingerprint = ?6 WHERE id = ?5";

/** Retires a source (it is read no further) and records why. */
export function retireSource(db: Database, id: number, kind: string, detail: string) {
  db.run("UPDATE sources SET state = 'retired' WHERE id = ?", [id]);
  recordSourceEvent(db, id, kind, detail);
}

/**
 * Finds the source for the file open at `fd`: the active one if the file still holds the content
 * read so far, else a new one (the old one retired, the change recorded). Never appends to a
 * source whose file was truncated, rewritten or replaced. `rewritten` says why the tail saw the
 * open file rewritten while it followed it; `tailAt` hashes the bytes before an offset from bytes
 * the caller keeps (the rewrite guard's), else they are read here.
 */
export function resolveFileSource(
  db: Database, path: string, fd: number, ident: FileIdentity, rewritten: string | null = null, tailAt?: (end: number) => string,
): { source: SourceRow; change: IdentityChange; detail: string } {
  return db.transaction(() => {
    const prev = activeSourceFor(db, path);
    if (!prev) return { source: createSource(db, path, "file", ident, realPathOf(path, ident)), change: "new" as IdentityChange, detail: "" };
    const { change, detail } = judgeFile(path, fd, prev, ident, rewritten, tailAt);
    if (change === "same" || change === "moved") {
      if (change === "moved") recordSourceEvent(db, prev.id, "moved", detail);
      // A file first seen shorter than the fingerprint length gets a longer fingerprint later.
      if (change === "moved" || ident.fingerprintLen > prev.fingerprint_len) {
        db.run("UPDATE sources SET dev = ?, ino = ?, fingerprint = ?, fingerprint_len = ?, real_path = ? WHERE id = ?", [ident.dev, ident.ino, ident.fingerprint, ident.fingerprintLen, realPathOf(path, ident) ?? prev.real_path, prev.id]);
      }
      return { source: getSource(db, prev.id), change, detail };
    }
    retireSource(db, prev.id, change, detail);
    const source = createSource(db, path, "file", ident, realPathOf(path, ident));
    recordSourceEvent(db, source.id, "follows", `continues source ${prev.id} after it was ${change}`);
    return { source, change, detail };
  }).immediate();
}

/**
 * What became of the active source's file, judged from the file now at the path. The same file
 * has the same first bytes and the same bytes before the committed offset (tailFingerprintOf): a
 * file rewritten in place past its first 4 KiB differs only there.
 */
function judgeFile(
  path: string, fd: number, prev: SourceRow, ident: FileIdentity, rewritten: string | null, tailAt?: (end: number) => string,
): { change: IdentityChange; detail: string } {
  if (rewritten !== null) return { change: "truncated", detail: rewritten };
  const shrunk = ident.size < prev.committed_offset;
  const below = `file is ${ident.size} bytes, below the committed offset ${prev.committed_offset}`;
  if (!sameInode(prev, ident)) {
    // The recorded file still there (beside the path, or where a re-pointed symlink left it) was
    // rotated, with lines of its own left to read (the live tail drains it: left-files.ts).
    const left = findLeftFile(path, prev);
    if (left !== null) return { change: "rotated", detail: `another file is at the path; the old one (inode ${prev.dev}:${prev.ino}) is still there, as ${left}` };
    // Another inode is the same file moved only if its first bytes say so: an empty fingerprint
    // proves nothing.
    if (prev.fingerprint_len === 0 || !sameContent(fd, prev)) {
      return shrunk ? { change: "truncated", detail: below } : { change: "replaced", detail: `another file is at the path (inode ${prev.dev}:${prev.ino} -> ${ident.dev}:${ident.ino})` };
    }
  } else if (!sameContent(fd, prev)) {
    return { change: "truncated", detail: shrunk ? below : `rewritten in place: its first ${prev.fingerprint_len} bytes changed` };
  }
  if (shrunk) return { change: "truncated", detail: below };
  if (!sameEnd(fd, prev, tailAt)) {
    return { change: "truncated", detail: `rewritten in place: the bytes before the committed offset ${prev.committed_offset} are not the ones read` };
  }
  if (sameInode(prev, ident)) return { change: "same", detail: "" };
  return { change: "moved", detail: `same content under a new inode (${prev.dev}:${prev.ino} -> ${ident.dev}:${ident.ino})` };
}

/** True when the bytes before the committed offset are the ones committed (or nothing recorded proves otherwise). */
function sameEnd(fd: number, prev: SourceRow, tailAt?: (end: number) => string): boolean {
  if (!tailAt || prev.tail_fingerprint === null || prev.committed_offset === 0) return sameTail(fd, prev.committed_offset, prev.tail_fingerprint);
  return tailAt(prev.committed_offset) === prev.tail_fingerprint;
}

/**
 * A file that had already left the path (rotated or deleted, still read through its descriptor)
 * was truncated or rewritten: what it holds now is a new source, retired from the start since
 * another file, or none, is at the path.
 */
export function sourceForRewrittenLeftFile(db: Database, prev: SourceRow, ident: FileIdentity, readOffset: number): SourceRow {
  return db.transaction(() => {
    recordSourceEvent(db, prev.id, "truncated", `rewritten below byte ${readOffset} after it left the path`);
    const source = createSource(db, prev.path, "file", ident, prev.real_path);
    retireSource(db, source.id, "follows", `continues source ${prev.id} after it was truncated, away from the path`);
    return getSource(db, source.id);
  }).immediate();
}

/**
 * A source first read while shorter than the fingerprint gets a longer fingerprint as it grows
 * (from the bytes the rewrite guard has seen), so that a rewrite of its first bytes is noticed
 * after a restart. Returns the source as it now is.
 */
export function lengthenFingerprint(db: Database, source: SourceRow, seen: { fingerprint: string; fingerprintLen: number }): SourceRow {
  if (seen.fingerprintLen <= source.fingerprint_len) return source;
  db.run("UPDATE sources SET fingerprint = ?, fingerprint_len = ? WHERE id = ?", [seen.fingerprint, seen.fingerprintLen, source.id]);
  return { ...source, fingerprint: seen.fingerprint, fingerprint_len: seen.fingerprintLen };
}

/** The id base for rows ingested from `startOffset` on: every new id is above every existing one. */
export function nextIdBase(db: Database, startOffset: number): number {
  const { maxId } = db.query("SELECT coalesce(max(id), 0) AS maxId FROM sse_rows").get() as { maxId: number };
  return maxId + 1 - startOffset;
}

/**
 * Where a file that left `path` may be: the path's directory, and the directory of the file the
 * source recorded, which is another one when the path is a symlink (re-pointed, it leaves the old
 * target where it was). Rotation may rename a file to anything (dateext, a numbered suffix, an
 * archive name), so a file is found by its inode, never by its name.
 */
export function searchDirs(path: string, s: { real_path: string | null }): string[] {
  const dirs = [dirname(path)];
  if (s.real_path !== null && dirname(s.real_path) !== dirs[0]) dirs.push(dirname(s.real_path));
  return dirs;
}

/**
 * The path of the recorded file (device and inode) in one of its search directories, or null.
 * `listings` keeps each directory's read, for a caller that looks for several files.
 */
export function findLeftFile(path: string, s: SourceRow, listings = new Map<string, Map<string, string>>()): string | null {
  if (s.ino === null) return null;
  for (const dir of searchDirs(path, s)) {
    let files = listings.get(dir);
    if (!files) listings.set(dir, (files = filesByInode(dir)));
    const found = files.get(inodeKey(s));
    if (found !== undefined) return found;
  }
  return null;
}
