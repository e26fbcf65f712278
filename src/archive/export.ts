// `sluice export`: writes archived files back, byte for byte, from the database alone. Each file is
// written under a temporary name (mode 0600) and renamed into place, so a file in the target is
// always whole. A file's earlier generations (its content before a rewrite) are written beside it.

import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, extname, join, relative, sep } from "node:path";
import { SluiceError, EXIT_FAILURE } from "../runtime/errors";

/** One file written. */
export interface ExportedFile {
  session: string;
  /** agent_files.id */
  fileId: number;
  /** Where the agent kept the file (last seen). */
  source: string;
  path: string;
  generation: number;
  latest: boolean;
  bytes: number;
  sha256: string;
}

export interface ExportResult {
  files: ExportedFile[];
  /** Files the index read whose bytes the archive does not hold (indexed with --no-archive and gone since). */
  missing: Array<{ session: string; source: string }>;
}

interface FileRow {
  id: number;
  path: string;
  session_key: string;
  indexed_offset: number;
}

interface GenerationRow {
  generation: number;
  archived_to: number;
  tail: Uint8Array | null;
}

/** Writes the files of the given sessions (all of them when null) under `dir`. */
export function exportSessions(db: Database, sessionIds: number[] | null, dir: string): ExportResult {
  const files = (sessionIds === null
    ? db.query("SELECT f.id, f.path, s.session_key, f.indexed_offset FROM agent_files f JOIN sessions s ON s.id = f.session_id ORDER BY f.id").all()
    : db.query("SELECT f.id, f.path, s.session_key, f.indexed_offset FROM agent_files f JOIN sessions s ON s.id = f.session_id WHERE f.session_id IN (SELECT value FROM json_each(?)) ORDER BY f.id")
        .all(JSON.stringify(sessionIds))) as FileRow[];
  const generations = db.query("SELECT generation, archived_to, tail FROM archive_generations WHERE file_id = ? ORDER BY generation");
  const chunks = db.query("SELECT start, length, data FROM archive_chunks WHERE file_id = ?1 AND generation = ?2 AND start < ?3 ORDER BY start");
  const root = commonDir(files.map((f) => f.path));
  const taken = new Set<string>();
  const result: ExportResult = { files: [], missing: [] };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const all = generations.all(f.id) as GenerationRow[];
    const last = all[all.length - 1];
    // the latest generation is whole when it holds what the index read (an empty file too);
    // earlier ones when they hold anything
    const whole = last !== undefined && last.archived_to >= f.indexed_offset;
    if (!whole && f.indexed_offset > 0) result.missing.push({ session: f.session_key, source: f.path });
    const gens = all.filter((g) => (g === last ? whole : g.archived_to > 0 || (g.tail?.length ?? 0) > 0));
    const rel = files.length === 1 ? basename(f.path) : relative(root, f.path);
    for (const g of gens) {
      const latest = g === last;
      const path = unique(join(dir, latest ? rel : generationName(rel, g.generation)), taken, f.id);
      const { bytes, sha256 } = writeGeneration(path, chunks.all(f.id, g.generation, g.archived_to) as Chunk[], g, f.path);
      result.files.push({ session: f.session_key, fileId: f.id, source: f.path, path, generation: g.generation, latest, bytes, sha256 });
    }
  }
  return result;
}

interface Chunk {
  start: number;
  length: number;
  data: Uint8Array;
}

/** Writes one generation (its pieces, then its tail) to a temporary file, and renames it to `path`. */
function writeGeneration(path: string, chunks: Chunk[], g: GenerationRow, source: string): { bytes: number; sha256: string } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.sluice-export-${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, "wx", 0o600);
  const hash = createHash("sha256");
  let at = 0;
  try {
    for (const c of chunks) {
      if (c.start !== at) throw new SluiceError(`the archive of ${source} (generation ${g.generation}) lacks bytes ${at}-${c.start}; run 'sluice check'`, EXIT_FAILURE);
      const bytes = Bun.zstdDecompressSync(c.data);
      if (bytes.length !== c.length) throw new SluiceError(`the archive of ${source} (generation ${g.generation}) has a damaged piece at byte ${c.start}`, EXIT_FAILURE);
      write(fd, bytes, hash);
      at += bytes.length;
    }
    if (at !== g.archived_to) throw new SluiceError(`the archive of ${source} (generation ${g.generation}) ends at byte ${at}, not ${g.archived_to}`, EXIT_FAILURE);
    if (g.tail?.length) write(fd, g.tail, hash);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return { bytes: at + (g.tail?.length ?? 0), sha256: hash.digest("hex") };
}

function write(fd: number, bytes: Uint8Array, hash: ReturnType<typeof createHash>) {
  for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o);
  hash.update(bytes);
}

/** `abc.jsonl` generation 1 -> `abc.generation-1.jsonl`: beside the latest, and still a .jsonl. */
export function generationName(rel: string, generation: number): string {
  const ext = extname(rel);
  return `${rel.slice(0, rel.length - ext.length)}.generation-${generation}${ext}`;
}

/** Two rows of one path (a file replaced at its path; the old one's rows stay): the later gets its row id in its name. */
function unique(path: string, taken: Set<string>, fileId: number): string {
  let p = path;
  if (taken.has(p)) {
    const ext = extname(path);
    p = `${path.slice(0, path.length - ext.length)}.file-${fileId}${ext}`;
  }
  taken.add(p);
  return p;
}

/** The deepest directory holding every path, so the export keeps the agents' layout below it. */
function commonDir(paths: string[]): string {
  if (!paths.length) return "/";
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths) {
    const d = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < d.length && parts[i] === d[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}
