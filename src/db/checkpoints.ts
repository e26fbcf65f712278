// The live writers' WAL checkpoints, run by a thread of their own (src/native/checkpointer.c) so
// that no commit waits for one. The writer's wal_autocheckpoint (useLiveSettings) stays the
// fallback when the native extension cannot be loaded: running from source, a build without a C
// compiler, or a platform other than Linux.
//
// Measured at 2,000 lines/s (docs/design.md, "Checkpoints"): p99 append-to-commit latency 65-90 ms with
// the thread, 106-120 ms with the checkpoints in the writer.

import type { Database } from "bun:sqlite";
import { extensionDirs, loadNativeExtension } from "../native/extension";
import { WAL_CHECKPOINT_PAGES } from "./settings";

interface CheckpointStats {
  /** Checkpoints the thread ran. */
  checkpoints: number;
  /** Checkpoints it could not start because another held the lock (the quiet-time TRUNCATE). */
  busy: number;
  /** Checkpoints the writer ran itself because the WAL reached four times the threshold. */
  inline: number;
  longestMs: number;
  totalMs: number;
}

type Log = { info(m: string): void; debug(m: string): void };

const running = new WeakSet<Database>();

/**
 * Moves `db`'s checkpoints to a background thread: one whenever the WAL holds WAL_CHECKPOINT_PAGES
 * frames. Call it after useLiveSettings. Returns false, and leaves wal_autocheckpoint in charge,
 * when the extension cannot be loaded.
 */
export function checkpointInBackground(db: Database, dbPath: string, log: Log): boolean {
  try {
    loadNativeExtension(db, "sqlite3_checkpointer_init", extensionDirs(dbPath));
    db.query("SELECT sluice_checkpointer_start(?)").get(WAL_CHECKPOINT_PAGES);
    running.add(db);
    log.debug(`checkpoints run in a background thread, one per ${WAL_CHECKPOINT_PAGES} WAL pages`);
    return true;
  } catch (err) {
    log.debug(`checkpoints stay in the writer (wal_autocheckpoint): ${(err as Error).message}`);
    return false;
  }
}

/**
 * Stops and joins the thread, before the connection's own last checkpoint and close, and logs
 * what it did. Closing the connection would stop it too; this makes the order certain.
 */
export function stopBackgroundCheckpoints(db: Database, log: Log): void {
  if (!running.has(db)) return;
  running.delete(db);
  const s: CheckpointStats = JSON.parse((db.query("SELECT sluice_checkpointer_stop() AS s").get() as { s: string }).s);
  log.info(
    `background checkpoints: ${s.checkpoints} (longest ${s.longestMs} ms, ${s.totalMs} ms in all)` +
      (s.inline ? `; ${s.inline} run by the writer because the WAL kept growing` : ""),
  );
}
