// Who writes the database. The ingester row: which process captures into it, in which mode, and how
// it is doing; the lock against a second capture (like a pidfile, but inside the database, so it
// moves with it) and the heartbeat that `sluice status` reads. The writers table: the claims of the
// deep index's writers and of maintenance (below). Both are taken over from a process that is gone.

import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { hostname } from "node:os";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { tableExists } from "./schema";

/** maintenance: `sluice vacuum --full` holds the database, so no ingester starts meanwhile. */
export type IngesterMode = "backfill" | "live" | "maintenance" | "stopped";

export interface IngesterRow {
  pid: number;
  host: string;
  mode: IngesterMode;
  input: string | null;
  source_id: number | null;
  started_at: string;
  heartbeat_at: string;
  rss_bytes: number | null;
  max_rss_bytes: number | null;
  input_size: number | null;
  lines_per_s: number | null;
  lag_bytes: number | null;
  lag_growth_bytes: number | null;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readIngester(db: Database): IngesterRow | null {
  return (db.query("SELECT * FROM ingester WHERE id = 1").get() as IngesterRow | null) ?? null;
}

/** True when the row names a live process on this host: some sluice is ingesting. */
export function ingesterRunning(row: IngesterRow | null): boolean {
  return !!row && row.mode !== "stopped" && row.host === hostname() && processAlive(row.pid);
}

/**
 * Takes the database for this process, or refuses (touching nothing) when another live sluice
 * holds it. A row left by a dead process is taken over. The same PID is us after an exec.
 */
export function claimIngester(db: Database, dbPath: string, mode: IngesterMode, input: string): void {
  db.transaction(() => {
    if (isReplaced(db)) throw new DatabaseReplaced(dbPath);
    const row = readIngester(db);
    if (row && row.pid !== process.pid && ingesterRunning(row)) {
      throw new SluiceError(`database ${dbPath} is in use by another sluice (PID ${row.pid}, ${row.mode} of ${row.input}); stop it first, or pass another --db`, EXIT_USAGE);
    }
    const now = new Date().toISOString();
    db.run(
      `INSERT INTO ingester (id, pid, host, mode, input, started_at, heartbeat_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?5)
       ON CONFLICT (id) DO UPDATE SET pid = ?1, host = ?2, mode = ?3, input = ?4, started_at = ?5, heartbeat_at = ?5,
         rss_bytes = NULL, max_rss_bytes = NULL, lines_per_s = NULL, lag_bytes = NULL, lag_growth_bytes = NULL`,
      [process.pid, hostname(), mode, input, now],
    );
  }).immediate();
}

export interface Heartbeat {
  mode: IngesterMode;
  sourceId: number | null;
  rssBytes: number;
  maxRssBytes: number | null;
  inputSize: number | null;
  /** Over the last minute. */
  linesPerS: number | null;
  lagBytes: number | null;
  /** Lag now minus lag a minute ago: above zero, the ingester is falling behind. */
  lagGrowthBytes: number | null;
}

export function heartbeat(db: Database, h: Heartbeat) {
  db.run(
    `UPDATE ingester SET mode = ?, source_id = ?, heartbeat_at = ?, rss_bytes = ?, max_rss_bytes = ?, input_size = ?, lines_per_s = ?,
       lag_bytes = ?, lag_growth_bytes = ? WHERE id = 1 AND pid = ?`,
    [h.mode, h.sourceId, new Date().toISOString(), h.rssBytes, h.maxRssBytes, h.inputSize, h.linesPerS, h.lagBytes, h.lagGrowthBytes, process.pid],
  );
}

/** Marks the ingester stopped, so status shows a clean exit rather than a vanished process. */
export function releaseIngester(db: Database) {
  db.run("UPDATE ingester SET mode = 'stopped', heartbeat_at = ? WHERE id = 1 AND pid = ?", [new Date().toISOString(), process.pid]);
}

// The writers table: claims of the writers other than the capture, which keeps the ingester row.
// An index run (or one pass of the index follower) claims 'deep-index' for the whole run, so two
// runs never read the same plan: the second waits for the first, naming it. `vacuum --full`
// claims 'all', which conflicts with every claim (the capture it keeps out through the ingester
// row, which it takes as 'maintenance'). SQLite's own lock still orders
// the single transactions; this claim spans a run's several transactions and its bulk load.

/** What a claim covers. */
export type WriterScope = "deep-index" | "all";

export interface WriterRow {
  id: number;
  /** 'running' only says a long-lived writer is up (the index follower between its passes); it blocks nothing. */
  scope: WriterScope | "replaced" | "running";
  role: string;
  pid: number;
  host: string;
  started_at: string;
}

/** The file at hand was replaced by `vacuum --full`: open the path again. */
export class DatabaseReplaced extends SluiceError {
  constructor(dbPath: string) {
    super(`database ${dbPath} was replaced by 'sluice vacuum --full' while this command had it open; run the command again`, EXIT_FAILURE);
  }
}

const live = (r: { pid: number; host: string }) => r.pid === process.pid || (r.host === hostname() && processAlive(r.pid));

/** True when `vacuum --full` has replaced the file this connection has open. */
export function isReplaced(db: Database): boolean {
  return tableExists(db, "writers") && !!db.query("SELECT 1 FROM writers WHERE scope = 'replaced'").get();
}

/**
 * Claims `scope` for this process in one transaction, or names the live holder that stands in the
 * way. Stale rows (their process is gone) are removed on the way. Throws DatabaseReplaced when the
 * file is no longer the database at its path.
 */
export function tryClaimWriter(db: Database, dbPath: string, scope: WriterScope, role: string): { id: number } | { holder: string } {
  return db.transaction(() => {
    if (isReplaced(db)) throw new DatabaseReplaced(dbPath);
    const rows = db.query("SELECT * FROM writers").all() as WriterRow[];
    for (const r of rows) if (!live(r)) db.run("DELETE FROM writers WHERE id = ?", [r.id]);
    const blocking = rows.find((r) => live(r) && r.pid !== process.pid && r.scope !== "running" && (scope === "all" || r.scope === "all" || r.scope === scope));
    if (blocking) return { holder: `'sluice ${blocking.role}' (PID ${blocking.pid}, since ${blocking.started_at})` };
    const row = db.query("INSERT INTO writers (scope, role, pid, host, started_at) VALUES (?, ?, ?, ?, ?) RETURNING id").get(scope, role, process.pid, hostname(), new Date().toISOString()) as { id: number };
    return { id: row.id };
  }).immediate();
}

/** How often a writer waiting for a claim looks again. */
const CLAIM_POLL_MS = 50;

/**
 * Claims `scope`, waiting while another writer holds it (telling once whom it waits for), and
 * returns the claim's id for releaseWriter. `stopped` ends the wait early (a stop signal): null.
 */
export async function claimWriter(
  db: Database, dbPath: string, scope: WriterScope, role: string, log: { info(m: string): void }, stopped: () => boolean = () => false,
): Promise<number | null> {
  let told = false;
  for (;;) {
    const r = tryClaimWriter(db, dbPath, scope, role);
    if ("id" in r) return r.id;
    if (!told) log.info(`waiting for ${r.holder} to finish writing ${dbPath}`);
    told = true;
    if (stopped()) return null;
    await Bun.sleep(CLAIM_POLL_MS);
  }
}

export function releaseWriter(db: Database, id: number) {
  db.run("DELETE FROM writers WHERE id = ? AND pid = ?", [id, process.pid]);
}

/** Says, for 'sluice status', that a long-lived writer runs; released with releaseWriter. Blocks nothing. */
export function registerRunning(db: Database, role: string): number {
  const row = db.query("INSERT INTO writers (scope, role, pid, host, started_at) VALUES ('running', ?, ?, ?, ?) RETURNING id").get(role, process.pid, hostname(), new Date().toISOString()) as { id: number };
  return row.id;
}

/** The writers whose process is alive (on this host) or on another host: their claims and 'running' marks. */
export function liveWriters(db: Database): WriterRow[] {
  if (!tableExists(db, "writers")) return [];
  return (db.query("SELECT * FROM writers WHERE scope <> 'replaced' ORDER BY id").all() as WriterRow[]).filter((r) => r.host !== hostname() || live(r));
}

/** Marks this file as replaced (vacuum --full, just before the rename): its readers and writers open the path again. */
export function markReplaced(db: Database) {
  db.run("INSERT INTO writers (scope, role, pid, host, started_at) VALUES ('replaced', 'vacuum --full', ?, ?, ?)", [process.pid, hostname(), new Date().toISOString()]);
}

/** The device and inode at a path ("dev:ino"), or null: taken before opening, to tell later whether the file was replaced. */
export function fileAt(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * True when an error means that the file was replaced under this connection: the replaced mark,
 * or another file now at the path than the one there before the open (SQLite then refuses to
 * write to the moved file: SQLITE_READONLY_DBMOVED, or an I/O error on its WAL).
 */
export function replacedUnder(err: unknown, path: string, before: string | null): boolean {
  return err instanceof DatabaseReplaced || (before !== null && fileAt(path) !== before);
}
