// The push as a command runs it: once, or for ever (`--follow`). The store is reached and its
// schema checked before the local database is opened, so a server that is down, a wrong password,
// a missing database or a newer schema stop the push with one line and the local file untouched.
// The follower pushes whenever the change log moves, and retries what waiting cures with backoff.

import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { existsSync } from "node:fs";
import { openDatabase } from "../db/open";
import { isReplaced, readIngester, registerRunning, releaseWriter } from "../db/writer-lock";
import { holderAlive } from "../runtime/process-identity";
import { describeSqliteError, SluiceError, EXIT_FAILURE, wrapError } from "../runtime/errors";
import { onStopSignals } from "../runtime/signals";
import { connectStore, describePgError, retryable } from "./connection";
import { renewDeviceId, resolveDevice, seatOf } from "./device";
import { migrateStore } from "./pg-schema";
import { pushOnce, type PushResult } from "./push";
import type { StoreUrl } from "./url";
import { CopyRefused, enableTracking, logHead } from "./watermarks";
import { hostName } from "../runtime/host";

export interface PushOptions {
  dbPath: string;
  url: StoreUrl;
  withArchive: boolean;
  adopt: boolean;
  newDevice: boolean;
  name?: string;
  user?: string;
}

export interface Logger {
  info(m: string): void;
  warn(m: string): void;
  debug(m: string): void;
}

/** One push, start to end. */
export async function runPush(opts: PushOptions, log: Logger): Promise<PushResult> {
  requireLocal(opts.dbPath);
  const sql = connectStore(opts.url);
  try {
    await storeReady(sql, opts.url);
    const db = openDatabase(opts.dbPath);
    try {
      return await pushFrom(sql, db, opts, log);
    } finally {
      db.close();
    }
  } finally {
    await sql.close({ timeout: 1 }).catch(() => {});
  }
}

function requireLocal(dbPath: string) {
  if (!existsSync(dbPath)) throw new SluiceError(`no database at ${dbPath}; run 'sluice index' first, or pass --db`);
}

async function storeReady(sql: SQL, url: StoreUrl) {
  try {
    await migrateStore(sql, url);
  } catch (err) {
    throw describePgError(err, url, "pushing");
  }
}

/** A push from an open local database; a copy's question (--adopt, --new-device) answered on the way. */
async function pushFrom(sql: SQL, db: Database, opts: PushOptions, log: Logger): Promise<PushResult> {
  refuseDuringBackfill(db);
  enableTracking(db);
  const attempt = (adopt: boolean) => {
    const ctx = { store: opts.url.masked, device: resolveDevice(db, { name: opts.name, user: opts.user }), seat: seatOf(opts.dbPath), withArchive: opts.withArchive, adopt };
    const onWait = () => log.info(`another push of device '${ctx.device.name}' is running; waiting for it to finish`);
    return pushOnce(sql, db, { ...ctx, onWait, trace: (m) => log.debug(m) });
  };
  let result: PushResult;
  try {
    result = await attempt(opts.adopt);
  } catch (err) {
    // Only a copy that was asked about becomes a device of its own: the flag is safe to repeat.
    if (!(err instanceof CopyRefused) || !opts.newDevice) throw pushFailure(err, opts.url);
    log.info(`this database is a copy of device ${err.deviceId}: it goes on as device ${renewDeviceId(db)}`);
    result = await attempt(false).catch((e) => Promise.reject(pushFailure(e, opts.url)));
  }
  if (result.whole_because) log.info(`sent every table whole: ${result.whole_because}`);
  recordTarget(db, result, log);
  return result;
}

/** A failure said as what it is: the local database's (SQLite), or the store's. */
function pushFailure(err: unknown, url: StoreUrl): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = String((err as { code?: unknown })?.code ?? "");
  if (code.startsWith("SQLITE_")) return describeSqliteError(err) ?? wrapError("the local database", err);
  return describePgError(err, url, "pushing");
}

/**
 * A capture backfill writes through a rollback journal, where a push's read snapshot would hold
 * its commits back: refused (retried by a follower) until it hands over to the live tail.
 */
function refuseDuringBackfill(db: Database) {
  const journal = (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  if (journal === "wal") return;
  const ing = readIngester(db);
  if (ing && ing.mode === "backfill" && ing.host === hostName() && holderAlive(ing)) {
    throw new SluiceError(`the capture is backfilling (PID ${ing.pid}) through a rollback journal, which a push's read would stall; push once it is live ('sluice status')`, EXIT_FAILURE);
  }
}

/** The store and seq this database last reached (for status); after the store's commit, so a failure here loses nothing. */
function recordTarget(db: Database, r: PushResult, log: Logger) {
  try {
    db.run(
      `INSERT INTO push_targets (target, device_id, through_seq, pushed_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (target) DO UPDATE SET device_id = excluded.device_id, through_seq = excluded.through_seq, pushed_at = excluded.pushed_at`,
      [r.store, r.device_id, r.through_seq, new Date().toISOString()],
    );
  } catch (err) {
    log.warn(`pushed, but could not note it in the local database (${(err as Error).message}); the next push goes on from the store's watermark all the same`);
  }
}

export interface FollowOptions extends PushOptions {
  pollMs: number;
  /** Called after each push that sent or deleted something. */
  onPush: (r: PushResult) => void;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000, 60_000];

/**
 * Pushes now and again whenever the change log moves, until SIGTERM or SIGINT (exit 0). A database
 * not made yet is waited for, as a store that is down is: a service may start before the index.
 */
export async function followPushes(opts: FollowOptions, log: Logger): Promise<void> {
  let stopped = false;
  let wake = () => {};
  const off = onStopSignals(() => ((stopped = true), wake()));
  const sleep = (ms: number) => new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, ms)));
  const sql = connectStore(opts.url);
  let db = null as Database | null;
  let failures = 0, pushedThrough = -1, ready = false;
  let running: number | null = null;
  try {
    while (!stopped) {
      try {
        if (!ready) await storeReady(sql, opts.url);
        ready = true;
        if (!existsSync(opts.dbPath)) throw new SluiceError(`no database at ${opts.dbPath} yet; waiting for 'sluice index' to make it`, EXIT_FAILURE);
        if (!db || isReplaced(db)) {
          if (db && running !== null) releaseWriter(db, running);
          db?.close();
          db = openDatabase(opts.dbPath);
          // 'sluice status' and 'stats' show the follower, and judge its store's lag by it
          running = registerRunning(db, opts.dbPath, "push --follow");
        }
        if (pushedThrough < 0 || logHead(db).seq !== pushedThrough) {
          const r = await pushFrom(sql, db, opts, log);
          if (failures) log.info(`pushed again after ${failures} failed ${failures === 1 ? "try" : "tries"}`);
          failures = 0;
          pushedThrough = r.through_seq;
          if (r.rows || Object.values(r.tables).some((t) => t.deleted)) opts.onPush(r);
        }
        await sleep(opts.pollMs);
      } catch (err) {
        const e = pushFailure(err, opts.url);
        if (!retryable(e)) throw e;
        const wait = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
        log.warn(`${e.message} (retrying in ${wait / 1000} s)`);
        ready = false;
        await sleep(wait);
      }
    }
  } finally {
    off();
    try {
      if (db && running !== null) releaseWriter(db, running);
    } catch {
      // the row of a process that is gone is ignored by every reader
    }
    db?.close();
    await sql.close({ timeout: 1 }).catch(() => {});
  }
}
