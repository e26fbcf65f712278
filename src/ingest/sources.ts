// The sources table: which input each row came from, and how far it has been committed.
// Deciding whether the file at a path is still the one sluice was reading lives here too, because
// that decision and its record must be one transaction.

import type { Database } from "bun:sqlite";
import { dirname } from "node:path";
import { filesByInode, inodeKey, sameContent, sameInode, type FileIdentity } from "../input/file-identity";

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
}

/** What changed about the file at a path since the last run. */
export type IdentityChange = "new" | "same" | "moved" | "truncated" | "replaced";

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

export function createSource(db: Database, path: string, kind: "file" | "stdin", ident: FileIdentity | null): SourceRow {
  const row = db
    .query(
      "INSERT INTO sources (path, kind, dev, ino, fingerprint, fingerprint_len, created_at) VALUES (?,?,?,?,?,?,?) RETURNING *",
    )
    .get(path, kind, ident?.dev ?? null, ident?.ino ?? null, ident?.fingerprint ?? null, ident?.fingerprintLen ?? 0, new Date().toISOString());
  return row as SourceRow;
}

export function recordSourceEvent(db: Database, sourceId: number, kind: string, detail: string) {
  db.run("INSERT INTO source_events (source_id, at, kind, detail) VALUES (?,?,?,?)", [sourceId, new Date().toISOString(), kind, detail]);
}

/**
 * Moves a source's committed offset and adds to its counts: params (offset, rows, rejects, time,
 * source id). Always in the same transaction as the rows it covers.
 */
export const ADVANCE_SOURCE_SQL =
  "UPDATE sources SET committed_offset = ?1, lines = lines + ?2, rejects = rejects + ?3, last_commit_at = ?4 WHERE id = ?5";

/** Retires a source (it is read no further) and records why. */
export function retireSource(db: Database, id: number, kind: string, detail: string) {
  db.run("UPDATE sources SET state = 'retired' WHERE id = ?", [id]);
  recordSourceEvent(db, id, kind, detail);
}

/**
 * Finds the source for the file open at `fd`: the active one if the file still holds the content
 * read so far, else a new one (the old one retired, the change recorded). Never appends to a
 * source whose file was truncated or replaced.
 */
export function resolveFileSource(
  db: Database, path: string, fd: number, ident: FileIdentity, truncatedWhileFollowed = false,
): { source: SourceRow; change: IdentityChange; detail: string } {
  return db.transaction(() => {
    const prev = activeSourceFor(db, path);
    if (!prev) return { source: createSource(db, path, "file", ident), change: "new" as IdentityChange, detail: "" };
    // Another inode is the same file moved only if its first bytes say so, and the old inode is not
    // still beside it: an empty fingerprint proves nothing, and a file still in the directory was
    // rotated, with lines of its own left to read (the model-based follow test lost them so).
    const moved = sameInode(prev, ident) || (prev.fingerprint_len > 0 && !inodeBeside(path, prev));
    const sameFile = !truncatedWhileFollowed && moved && sameContent(fd, prev);
    // The tail saw the file shorter than what it had read: by now new writes may have made it longer again.
    const shrunk = truncatedWhileFollowed || ident.size < prev.committed_offset;
    if (sameFile && !shrunk) {
      let change: IdentityChange = "same";
      let detail = "";
      if (!sameInode(prev, ident)) {
        change = "moved";
        detail = `same content under a new inode (${prev.dev}:${prev.ino} -> ${ident.dev}:${ident.ino})`;
        recordSourceEvent(db, prev.id, "moved", detail);
      }
      // A file first seen shorter than the fingerprint length gets a longer fingerprint later.
      if (change !== "same" || ident.fingerprintLen > prev.fingerprint_len) {
        db.run("UPDATE sources SET dev = ?, ino = ?, fingerprint = ?, fingerprint_len = ? WHERE id = ?", [ident.dev, ident.ino, ident.fingerprint, ident.fingerprintLen, prev.id]);
      }
      return { source: getSource(db, prev.id), change, detail };
    }
    const change: IdentityChange = shrunk ? "truncated" : "replaced";
    const detail = truncatedWhileFollowed
      ? `seen shorter than the committed offset ${prev.committed_offset} while followed`
      : shrunk
      ? `file is ${ident.size} bytes, below the committed offset ${prev.committed_offset}`
      : `another file is at the path (inode ${prev.dev}:${prev.ino} -> ${ident.dev}:${ident.ino})`;
    retireSource(db, prev.id, change, detail);
    const source = createSource(db, path, "file", ident);
    recordSourceEvent(db, source.id, "follows", `continues source ${prev.id} after it was ${change}`);
    return { source, change, detail };
  }).immediate();
}

/**
 * A file that had already left the path (rotated or deleted, still read through its descriptor)
 * was truncated or rewritten: what it holds now is a new source, retired from the start since
 * another file, or none, is at the path.
 */
export function sourceForRewrittenLeftFile(db: Database, prev: SourceRow, ident: FileIdentity, readOffset: number): SourceRow {
  return db.transaction(() => {
    recordSourceEvent(db, prev.id, "truncated", `rewritten below byte ${readOffset} after it left the path`);
    const source = createSource(db, prev.path, "file", ident);
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

/** True when the recorded file (device and inode) is still in the directory of `path`. */
function inodeBeside(path: string, f: { dev: number | null; ino: number | null }): boolean {
  return f.ino !== null && filesByInode(dirname(path)).has(inodeKey(f));
}
