// A large backfill runs in a process image of its own, started with the allocator setting that
// suits it (runtime/exec-self.ts, bulkEnv): before anything is opened for writing, the process
// looks how much of the input is new and, past BULK_BYTES, replaces itself (same PID, same words).

import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { ConsolaInstance } from "consola";
import { bulkImageWanted, execBulkImage } from "../runtime/exec-self";
import { BULK_BYTES } from "./backfill";

/**
 * The bytes of `input` past what the database committed of it, as a look without the ingester's
 * claim can tell: its active source of the same device and inode, else (or with no database, a
 * backfill from scratch) the whole file. Only a guess of the work ahead (the backfill itself
 * decides what to read), so anything unreadable counts as nothing ahead.
 */
export function bytesAhead(dbPath: string | null, input: string): number {
  let size: number, dev: number, ino: number;
  try {
    const st = statSync(resolve(input));
    if (!st.isFile()) return 0;
    ({ size, dev, ino } = st);
  } catch {
    return 0; // the backfill says what is wrong with it
  }
  if (dbPath === null || dbPath === ":memory:" || !existsSync(dbPath)) return size;
  let db: Database | null = null;
  try {
    db = new Database(dbPath, { readonly: true });
    const row = db.query("SELECT committed_offset AS at FROM sources WHERE kind = 'file' AND state = 'active' AND dev = ? AND ino = ? ORDER BY id DESC LIMIT 1").get(dev, ino) as { at: number } | null;
    return row === null ? size : Math.max(0, size - row.at);
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/** Replaces the process with a bulk image when a large backfill is ahead; returns when it is not (or the exec failed). */
export async function backfillInBulkImage(dbPath: string, input: string, fromScratch: boolean, log: ConsolaInstance): Promise<void> {
  if (input === "-" || !bulkImageWanted()) return;
  if (bytesAhead(fromScratch ? null : dbPath, input) < BULK_BYTES) return;
  await execBulkImage("a large backfill", log);
}
