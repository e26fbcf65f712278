// Watermarks: how a push knows what the store already holds. Locally, migration 10's triggers keep
// push_log, one entry per changed row at the seq of its last change. In the store, per device and
// table, the seq it holds every row through, written in the transaction that writes those rows: a
// push that dies before its commit leaves the old watermark with the old rows, so the next push
// sends the same changes again, and one that committed is never sent twice.
//
// A table is sent whole (its device's rows replaced) when the store cannot vouch for the log: a
// device or table it has never seen, a database file other than the one that pushed last, a log
// behind the watermark or one that went another way (a restored backup, a copy).

import type { Database } from "bun:sqlite";
import type { TransactionSQL } from "bun";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import type { Device, Seat } from "./device";
import { PUSH_TABLES } from "./tables";

/**
 * Turns the triggers on (once, at a database's first push): from then on every change is logged.
 * Read first, so that later pushes do not wait for the write lock an index run may hold.
 */
export function enableTracking(db: Database): void {
  if ((db.query("SELECT tracking FROM device WHERE id = 1").get() as { tracking: number }).tracking) return;
  db.run("UPDATE device SET tracking = 1 WHERE id = 1");
}

/** The last seq logged, and its entry (`tbl:row_key`), read in the push's snapshot. */
export function logHead(db: Database): { seq: number; entry: string | null } {
  const row = db.query("SELECT seq, tbl || ':' || row_key AS entry FROM push_log INDEXED BY push_log_by_seq ORDER BY seq DESC LIMIT 1").get() as
    | { seq: number; entry: string }
    | null;
  return row ?? { seq: 0, entry: null };
}

function entryAt(db: Database, seq: number): string | null {
  return (db.query("SELECT tbl || ':' || row_key AS entry FROM push_log INDEXED BY push_log_by_seq WHERE seq = ?").get(seq) as { entry: string } | null)?.entry ?? null;
}

/** How many entries each table has in (from, to]. */
export function changedCounts(db: Database, from: number, to: number): Map<number, number> {
  const rows = db.query("SELECT tbl, count(*) AS n FROM push_log INDEXED BY push_log_by_seq WHERE seq > ?1 AND seq <= ?2 GROUP BY tbl").all(from, to) as Array<{ tbl: number; n: number }>;
  return new Map(rows.map((r) => [r.tbl, r.n]));
}

export interface StoredDevice {
  device: number;
  host: string;
  db_path: string;
  db_file: string;
  with_archive: boolean;
  through_seq: number;
  through_entry: string | null;
  watermarks: Map<string, number>;
}

/** The store's record of this device and its watermarks (one round trip); null for a device it has never seen. */
export async function readStored(tx: TransactionSQL, deviceId: string): Promise<StoredDevice | null> {
  const [row] = await tx`
    SELECT device, host, db_path, db_file, with_archive, through_seq::float8 AS through_seq, through_entry,
      (SELECT coalesce(json_object_agg(tbl, through_seq), '{}') FROM sluice.watermarks w WHERE w.device = d.device)::text AS marks
    FROM sluice.devices d WHERE device_id = ${deviceId}`;
  if (!row) return null;
  const { marks, ...rest } = row as StoredDevice & { marks: string };
  return { ...rest, watermarks: new Map(Object.entries(JSON.parse(marks) as Record<string, number>)) };
}

export async function saveWatermarks(tx: TransactionSQL, device: number, seq: number): Promise<void> {
  const values = PUSH_TABLES.map((t) => `(${device | 0}, '${t.name}', ${Math.trunc(seq)})`).join(", ");
  await tx.unsafe(`INSERT INTO sluice.watermarks (device, tbl, through_seq) VALUES ${values}
                   ON CONFLICT (device, tbl) DO UPDATE SET through_seq = EXCLUDED.through_seq, pushed_at = now()`);
}

export interface Plan {
  /** Tables sent whole. */
  full: Set<string>;
  /** The others: the seq each is held through. */
  from: Map<string, number>;
  /** Why everything goes whole, for the log; null when nothing does. */
  reason: string | null;
}

export interface Local {
  device: Device;
  seat: Seat;
  head: number;
  withArchive: boolean;
  /** `push --adopt`: this copy carries on a device whose last push came from elsewhere. */
  adopt: boolean;
}

/** What this push sends whole and what it sends from a watermark on; refuses an unexpected copy. */
export function planPush(db: Database, stored: StoredDevice | null, local: Local): Plan {
  const all = (reason: string): Plan => ({ full: new Set(PUSH_TABLES.map((t) => t.name)), from: new Map(), reason });
  if (!stored) return all("the first push of this device");
  const { seat } = local;
  if (stored.host !== seat.host || stored.db_path !== seat.dbPath) {
    if (!local.adopt) throw copyRefused(local, stored);
    return all(`this database carries on the device that last pushed from ${stored.host}:${stored.db_path} (--adopt)`);
  }
  if (stored.db_file !== seat.dbFile) return all("the database file was replaced since the last push (a restored backup, or 'vacuum --full')");
  if (local.head < stored.through_seq) return all("this database is behind what it pushed before (a restored backup?)");
  const was = stored.through_seq > 0 ? entryAt(db, stored.through_seq) : null;
  if (was !== null && stored.through_entry !== null && was !== stored.through_entry) return all("this database's changes went another way since the last push (a copy?)");
  const plan: Plan = { full: new Set(), from: new Map(), reason: null };
  for (const t of PUSH_TABLES) {
    const mark = stored.watermarks.get(t.name);
    // the archive's columns turned on or off: the sessions go again, with or without them
    if (mark === undefined || (t.name === "sessions" && stored.with_archive !== local.withArchive)) plan.full.add(t.name);
    else plan.from.set(t.name, mark);
  }
  return plan;
}

/** The store knows this device from another host or path: the database was copied (push-loop.ts asks what to do). */
export class CopyRefused extends SluiceError {
  constructor(message: string, readonly deviceId: string) {
    super(message, EXIT_USAGE);
  }
}

function copyRefused(local: Local, stored: StoredDevice): CopyRefused {
  const d = local.device;
  return new CopyRefused(
    `device '${d.name}' (${d.deviceId}) last pushed from ${stored.host}:${stored.db_path}, and this database (${local.seat.host}:${local.seat.dbPath}) is a copy of it; ` +
      `push with --adopt to carry that device on from here (its rows in the store become this database's), or --new-device to push this copy as a device of its own`,
    d.deviceId,
  );
}
