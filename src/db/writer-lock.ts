// Who writes the database. The ingester row: which process captures into it, in which mode, and how
// it is doing; the lock against a second capture (like a pidfile, but inside the database, so it
// moves with it) and the heartbeat that `sluice status` reads. The writers table: the claims of the
// deep index's writers and of maintenance (below). Both are taken over from a process that is gone.

import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { tableExists } from "./schema";
import { isBusy, untilUnlocked } from "./settings";
import { hostName } from "../runtime/host";
import { holderAlive, ownIdentity, type Holder } from "../runtime/process-identity";

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
  /** The live tail's commit latencies (runtime/histogram.ts, as JSON), saved by its heartbeat; migration 16. */
  commit_latency: string | null;
  /** The holder's boot and start (runtime/process-identity.ts); migration 18, null before it or off Linux. */
  boot_id?: string | null;
  start_ticks?: number | null;
}

export function readIngester(db: Database): IngesterRow | null {
  return (db.query("SELECT * FROM ingester WHERE id = 1").get() as IngesterRow | null) ?? null;
}

/** True when the row names a live process on this host: some sluice is ingesting. */
export function ingesterRunning(row: IngesterRow | null): boolean {
  return !!row && row.mode !== "stopped" && row.host === hostName() && holderAlive(row);
}

/**
 * Takes the database for this process, or refuses (touching nothing) when another live sluice
 * holds it. A row left by a dead process is taken over. The same PID is us after an exec.
 */
export function claimIngester(db: Database, dbPath: string, mode: IngesterMode, input: string): void {
  whenUnlocked(db, dbPath, () => db.transaction(() => {
    if (isReplaced(db)) throw new DatabaseReplaced(dbPath);
    const row = readIngester(db);
    if (row && row.pid !== process.pid && ingesterRunning(row)) {
      throw new SluiceError(`database ${dbPath} is in use by another sluice (PID ${row.pid}, ${row.mode} of ${row.input}); stop it first, or pass another --db`, EXIT_USAGE);
    }
    const now = new Date().toISOString();
    const me = ownIdentity();
    db.run(
      `INSERT INTO ingester (id, pid, host, mode, input, started_at, heartbeat_at, boot_id, start_ticks) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)
       ON CONFLICT (id) DO UPDATE SET pid = ?1, host = ?2, mode = ?3, input = ?4, started_at = ?5, heartbeat_at = ?5, boot_id = ?6, start_ticks = ?7,
         rss_bytes = NULL, max_rss_bytes = NULL, lines_per_s = NULL, lag_bytes = NULL, lag_growth_bytes = NULL, commit_latency = NULL`,
      [process.pid, hostName(), mode, input, now, me.bootId, me.startTicks],
    );
  }).immediate());
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
  /** The commit latencies so far (Histogram.toJSON); undefined keeps the saved ones (nothing new). */
  commitTimes?: string;
}

export function heartbeat(db: Database, h: Heartbeat) {
  db.run(
    `UPDATE ingester SET mode = ?, source_id = ?, heartbeat_at = ?, rss_bytes = ?, max_rss_bytes = ?, input_size = ?, lines_per_s = ?,
       lag_bytes = ?, lag_growth_bytes = ?, commit_latency = coalesce(?, commit_latency) WHERE id = 1 AND pid = ?`,
    [h.mode, h.sourceId, new Date().toISOString(), h.rssBytes, h.maxRssBytes, h.inputSize, h.linesPerS, h.lagBytes, h.lagGrowthBytes, h.commitTimes ?? null, process.pid],
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
  /** A long-lived writer's commit latencies (runtime/histogram.ts, as JSON), on its 'running' row; migration 16. */
  commit_latency: string | null;
  /** The holder's boot and start (runtime/process-identity.ts); migration 18, null before it or off Linux. */
  boot_id?: string | null;
  start_ticks?: number | null;
}

/** The file at hand was replaced by `vacuum --full`: open the path again. */
export class DatabaseReplaced extends SluiceError {
  constructor(dbPath: string) {
    super(`database ${dbPath} was replaced by 'sluice vacuum --full' while this command had it open; run the command again`, EXIT_FAILURE);
  }
}

/** A row's process runs now, on this host: not a dead one's, nor one from before a reboot whose PID another process has now. */
const live = (r: Holder & { host: string }) => (r.pid === process.pid || r.host === hostName()) && holderAlive(r);

/** Inserts a row into writers for this process, with its identity; returns its id. */
function insertWriter(db: Database, scope: WriterRow["scope"], role: string): number {
  const me = ownIdentity();
  return (db.query("INSERT INTO writers (scope, role, pid, host, started_at, boot_id, start_ticks) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
    .get(scope, role, process.pid, hostName(), new Date().toISOString(), me.bootId, me.startTicks) as { id: number }).id;
}

// Which file a connection opened. `vacuum --full` renames its rebuilt copy over the database, and a
// connection that opened the old file just before keeps it. SQLite itself refuses only some writes
// to such a file (a rollback journal's, SQLITE_READONLY_DBMOVED), and worse, it finds the new
// file's WAL by name: a connection on the old file that takes a lock while the new file has a WAL
// uses that WAL as its own, reads the new file's pages as if they were the old one's, and its
// writes and checkpoints go into that WAL or empty it into the old file (seen: "malformed database
// schema", an index run's rows lost). So until a writer holds its claim (which no rebuild can
// replace the file under), each lock it takes waits in whenUnlocked, which looks at the path
// before every attempt, and each claim looks again inside its transaction.

/** The path and the file ("dev:ino") each connection opened, as openDatabase found it. */
const openedFiles = new WeakMap<Database, { path: string; file: string | null }>();

/** Records which file `db` opened: `file` is fileAt(path), taken just before the connection was made. */
export function rememberFile(db: Database, path: string, file: string | null) {
  openedFiles.set(db, { path, file });
}

/** The file ("dev:ino") `db` opened, or null when unknown. */
export function openedFile(db: Database): string | null {
  return openedFiles.get(db)?.file ?? null;
}

/**
 * True when the path no longer names the file `db` opened: `vacuum --full` put another there.
 * Asked in a write transaction, or by a connection in WAL mode, the answer holds until it ends:
 * the rename waits for an exclusive lock on the old file, which this connection's lock withholds.
 * (A file taken for the one opened, because the path changed between the look and the open, only
 * makes the caller open it again.)
 */
export function fileReplaced(db: Database): boolean {
  const o = openedFiles.get(db);
  return !!o && o.file !== null && fileAt(o.path) !== o.file;
}

/** True when `vacuum --full` has replaced the file this connection has open. */
export function isReplaced(db: Database): boolean {
  // The path first: on a replaced file even a read may see the new file's pages and fail.
  if (fileReplaced(db)) return true;
  return tableExists(db, "writers") && !!db.query("SELECT 1 FROM writers WHERE scope = 'replaced'").get();
}


/**
 * Runs `work` (one transaction, or one statement) on a connection that may have opened a file
 * which `vacuum --full` is replacing, waiting for SQLite's lock here rather than in SQLite's busy
 * handler: the path is looked at before each attempt, so a lock that the rebuild held across its
 * rename is never taken on the old file afterwards. Taken, it would let SQLite find the new file's
 * WAL by name and use it as the old file's; and when Bun closes that connection at exit, SQLite
 * checkpoints that WAL into the old file and empties it, so the new file loses its latest commits
 * (seen: an index run that said it indexed, and the rebuild's release of its own claim, both gone).
 * Waits up to the busy timeout, then throws the last SQLITE_BUSY; throws DatabaseReplaced when the
 * path names another file.
 */
export function whenUnlocked<T>(db: Database, dbPath: string, work: () => T): T {
  return untilUnlocked(db, work, () => {
    if (fileReplaced(db)) throw new DatabaseReplaced(dbPath);
  });
}

/** The live claim in the way of `scope`, if any. Throws DatabaseReplaced when the file is no longer the database at its path. */
function blockingClaim(db: Database, dbPath: string, scope: WriterScope): { rows: WriterRow[]; blocking: WriterRow | undefined } {
  if (isReplaced(db)) throw new DatabaseReplaced(dbPath);
  const rows = db.query("SELECT * FROM writers").all() as WriterRow[];
  const blocking = rows.find((r) => live(r) && r.pid !== process.pid && r.scope !== "running" && (scope === "all" || r.scope === "all" || r.scope === scope));
  return { rows, blocking };
}

const holderOf = (r: WriterRow) => ({ holder: `'sluice ${r.role}' (PID ${r.pid}, since ${r.started_at})` });

/**
 * Claims `scope` for this process in one transaction, or names the live holder that stands in the
 * way. Stale rows (their process is gone) are removed on the way. Throws DatabaseReplaced when the
 * file is no longer the database at its path.
 */
export function tryClaimWriter(db: Database, dbPath: string, scope: WriterScope, role: string): { id: number } | { holder: string } {
  // A look first, in a read transaction: a writer that waits must not need the write lock to see
  // that the claim is still held, since the holder keeps that lock for whole batches of its run,
  // which can last longer than the busy timeout (the waiter gave up: "stayed locked for 5 s").
  const seen = whenUnlocked(db, dbPath, () => db.transaction(() => blockingClaim(db, dbPath, scope).blocking)());
  if (seen) return holderOf(seen);
  return whenUnlocked(db, dbPath, () => db.transaction(() => {
    const { rows, blocking } = blockingClaim(db, dbPath, scope);
    if (blocking) return holderOf(blocking);
    for (const r of rows) if (!live(r)) db.run("DELETE FROM writers WHERE id = ?", [r.id]);
    return { id: insertWriter(db, scope, role) };
  }).immediate());
}

/** How often a writer waiting for a claim looks again. */
const CLAIM_POLL_MS = 50;

/**
 * Claims `scope`, waiting while another writer holds it (telling once whom it waits for), and
 * returns the claim's id for releaseWriter. `stopped` ends the wait early (a stop signal): null.
 * A look that met the lock held past the busy timeout (a long batch in rollback-journal mode, the
 * rebuild's copy) is one more turn of the wait, not an error.
 */
export async function claimWriter(
  db: Database, dbPath: string, scope: WriterScope, role: string, log: { info(m: string): void }, stopped: () => boolean = () => false,
): Promise<number | null> {
  let told = false;
  for (;;) {
    let r: { id: number } | { holder: string };
    try {
      r = tryClaimWriter(db, dbPath, scope, role);
    } catch (err) {
      if (!isBusy(err)) throw err;
      r = { holder: "another connection that holds the database's lock" };
    }
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

/**
 * Releases a claim and, in the same transaction, saves a long-lived writer's commit latencies on
 * its 'running' row: the release commits anyway, so the latencies cost no commit of their own.
 */
export function releaseWriterSaving(db: Database, id: number, running: number, commitTimes: string) {
  db.transaction(() => {
    releaseWriter(db, id);
    db.run("UPDATE writers SET commit_latency = ? WHERE id = ? AND pid = ?", [commitTimes, running, process.pid]);
  })();
}

/**
 * Says, for 'sluice status', that a long-lived writer runs; released with releaseWriter. Blocks
 * nothing. Written under the deep index's claim as the follower starts; it looks at the path again
 * all the same (DatabaseReplaced).
 */
export function registerRunning(db: Database, dbPath: string, role: string): number {
  return db.transaction(() => {
    if (isReplaced(db)) throw new DatabaseReplaced(dbPath);
    return insertWriter(db, "running", role);
  }).immediate();
}

/** The writers whose process is alive (on this host) or on another host: their claims and 'running' marks. */
export function liveWriters(db: Database): WriterRow[] {
  if (!tableExists(db, "writers")) return [];
  return (db.query("SELECT * FROM writers WHERE scope <> 'replaced' ORDER BY id").all() as WriterRow[]).filter((r) => r.host !== hostName() || live(r));
}

/** Marks this file as replaced (vacuum --full, just before the rename): its readers and writers open the path again. */
export function markReplaced(db: Database) {
  insertWriter(db, "replaced", "vacuum --full");
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
