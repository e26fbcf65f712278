// The ingester row: which process holds the database, in which mode, and how it is doing. It is
// the lock against a second writer (like a pidfile, but inside the database, so it moves with it)
// and the heartbeat that `sluice status` reads while the ingester runs.

import type { Database } from "bun:sqlite";
import { hostname } from "node:os";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";

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
