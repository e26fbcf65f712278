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
  committedOffset: number;
  size: number | null;
  behindBytes: number | null;
  lines: number;
  rejects: number;
  lastCommitAt: string | null;
}

/** The capture's writer as status shows it: the ingester row, keyed as every JSON output is. */
export interface IngesterStatus {
  pid: number;
  host: string;
  mode: string;
  input: string | null;
  sourceId: number | null;
  startedAt: string;
  heartbeatAt: string;
  rssBytes: number | null;
  maxRssBytes: number | null;
  inputSize: number | null;
  linesPerSecond: number | null;
  lagBytes: number | null;
  lagGrowthBytes: number | null;
  running: boolean;
}

export interface Status {
  db: string;
  schemaVersion: number;
  mode: string;
  ingester: IngesterStatus | null;
  /** The deep index's writers: the index follower, an index run or a vacuum --full in progress. */
  writers: Array<{ role: string; pid: number; host: string; since: string; writing: boolean }>;
  rows: number;
  rejects: number;
  sources: SourceStatus[];
  retiredSources: number;
  /** The team stores this database pushes to, each with how far behind the local change log it is. */
  pushes: PushTarget[];
}

export interface PushTarget {
  /** The store's URL, without a password. */
  target: string;
  deviceId: string;
  pushedAt: string;
  /** Local changes (rows written or deleted) the store has not got yet. */
  behindChanges: number;
  secondsSincePush: number;
}

/** The stores pushed to (push_targets, written after each push) against the head of the local change log. */
export function pushTargets(db: Database): PushTarget[] {
  if (!db.query("SELECT 1 FROM sqlite_schema WHERE name = 'push_targets'").get()) return [];
  const head = (db.query("SELECT coalesce(max(seq), 0) AS seq FROM push_log").get() as { seq: number }).seq;
  const rows = db.query("SELECT target, device_id, through_seq, pushed_at FROM push_targets ORDER BY target").all() as Array<{ target: string; device_id: string; through_seq: number; pushed_at: string }>;
  return rows.map((r) => ({
    target: r.target, deviceId: r.device_id, pushedAt: r.pushed_at, behindChanges: Math.max(0, head - r.through_seq),
    secondsSincePush: Math.max(0, Math.round((Date.now() - Date.parse(r.pushed_at)) / 1000)),
  }));
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
        committedOffset: s.committed_offset, size, behindBytes: size === null ? null : Math.max(0, size - s.committed_offset),
        lines: s.lines, rejects: s.rejects, lastCommitAt: s.last_commit_at,
      };
    });
  const writers = liveWriters(db).map((w) => ({ role: w.role, pid: w.pid, host: w.host, since: w.started_at, writing: w.scope !== "running" }));
  return {
    db: dbPath, schemaVersion: version, mode: running ? ing!.mode : "stopped",
    ingester: ing ? ingesterStatus(ing, running) : null, writers, rows: totals.rows, rejects: totals.rejects, sources, retiredSources: all.length - sources.length,
    pushes: pushTargets(db),
  };
}

/** The ingester row (SQL's snake_case columns) as status shows it. */
export function ingesterStatus(r: IngesterRow, running: boolean): IngesterStatus {
  return {
    pid: r.pid, host: r.host, mode: r.mode, input: r.input, sourceId: r.source_id, startedAt: r.started_at, heartbeatAt: r.heartbeat_at,
    rssBytes: r.rss_bytes, maxRssBytes: r.max_rss_bytes, inputSize: r.input_size, linesPerSecond: r.lines_per_s, lagBytes: r.lag_bytes,
    lagGrowthBytes: r.lag_growth_bytes, running,
  };
}
