// What the ingester is doing, read from the database while it runs: `sluice status` prints it and
// `sluice stats` builds on it.

import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { openDatabase } from "../db/open";
import { ingesterRunning, liveWriters, type IngesterRow } from "../db/writer-lock";

export interface SourceStatus {
  id: number;
  path: string;
  kind: string;
  state: string;
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  committed_offset: number;
  size: number | null;
  behind_bytes: number | null;
  lines: number;
  rejects: number;
  last_commit_at: string | null;
}

export interface Status {
  db: string;
  schema_version: number;
  mode: string;
  ingester: (IngesterRow & { running: boolean }) | null;
  /** The deep index's writers: the index follower, an index run or a vacuum --full in progress. */
  writers: Array<{ role: string; pid: number; host: string; since: string; writing: boolean }>;
  rows: number;
  rejects: number;
  sources: SourceStatus[];
  retired_sources: number;
}

export function readStatus(dbPath: string): Status {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return statusOf(db, dbPath);
  } finally {
    db.close();
  }
}

/** A sources row as status reads it (the capture's table, read here as plain rows). */
interface SourceRecord {
  id: number;
  path: string;
  kind: "file" | "stdin";
  state: "active" | "retired";
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  committed_offset: number;
  lines: number;
  rejects: number;
  last_commit_at: string | null;
}

/** The status, read through an open connection (stats reads more through the same one). */
export function statusOf(db: Database, dbPath: string): Status {
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  const hasIngester = !!db.query("SELECT 1 FROM sqlite_schema WHERE name = 'ingester'").get();
  const ing = hasIngester ? ((db.query("SELECT * FROM ingester WHERE id = 1").get() as IngesterRow | null) ?? null) : null;
  const running = ingesterRunning(ing);
  const all = db.query("SELECT * FROM sources ORDER BY id").all() as SourceRecord[];
  const totals = db.query("SELECT coalesce(sum(lines), 0) AS rows, coalesce(sum(rejects), 0) AS rejects FROM sources").get() as { rows: number; rejects: number };
  const sources = all
    .filter((s) => s.state === "active")
    .map((s) => {
      let size: number | null = null;
      if (s.kind === "file") {
        try {
          const st = statSync(s.path);
          if (st.ino === s.ino && st.dev === s.dev) size = st.size;
        } catch {}
      }
      return {
        id: s.id, path: s.path, kind: s.kind, state: s.state, dev: s.dev, ino: s.ino, fingerprint: s.fingerprint,
        committed_offset: s.committed_offset, size, behind_bytes: size === null ? null : Math.max(0, size - s.committed_offset),
        lines: s.lines, rejects: s.rejects, last_commit_at: s.last_commit_at,
      };
    });
  const writers = liveWriters(db).map((w) => ({ role: w.role, pid: w.pid, host: w.host, since: w.started_at, writing: w.scope !== "running" }));
  return {
    db: dbPath, schema_version: version, mode: running ? ing!.mode : "stopped",
    ingester: ing ? { ...ing, running } : null, writers, rows: totals.rows, rejects: totals.rejects, sources, retired_sources: all.length - sources.length,
  };
}
