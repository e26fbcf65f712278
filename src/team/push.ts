// One push: everything the deep index changed since this device's watermarks, in one PostgreSQL
// transaction with the new watermarks, read from one SQLite snapshot. A kill, a lost connection
// or a server restart before the commit leaves the store as it was (PostgreSQL rolls the
// transaction back) and the next push sends the same changes again; after the commit they are
// behind the watermark and never sent twice.
//
// Per table: a table sent whole has its device's rows deleted and the local rows copied in. A
// table sent from its watermark on gets the rows named by the log entries past it:
//   - rowid tables (sessions, turns, invocations, agent_files): the store's rows of the changed
//     local ids, and of the natural keys those rows have now, are deleted, and the rows copied in
//     (a rewritten file's calls come back with new ids and the same keys: updated, not doubled);
//   - keyed tables (models, usage buckets, flows): the store's rows with a changed key are
//     replaced by the local rows with that key, if any are left.
// The local keys are unique (SQLite's unique indexes), so a COPY never meets a row it would
// double; if one did, the store's unique key refuses it and the push fails whole.

import type { Database } from "bun:sqlite";
import type { SQL, TransactionSQL } from "bun";
import { allRows, batchRows, changedEntries, changedRows, copyIn } from "./batches";
import type { Device, Seat } from "./device";
import { PUSH_TABLES, storeColumns, type PushTable } from "./tables";
import { changedCounts, logHead, planPush, readStored, saveWatermarks, type Local, type Plan } from "./watermarks";
import { VERSION } from "../runtime/version";

export interface TablePush {
  how: "whole" | "changes";
  /** Rows copied to the store. */
  rows: number;
  /** Store rows deleted first (a whole table's old rows, or rows whose local id or key changed). */
  deleted: number;
}

export interface PushResult {
  store: string;
  device_id: string;
  device: string;
  user: string;
  /** Why every table went whole, or null. */
  whole_because: string | null;
  /** The local change log's seq the store now holds everything through. */
  through_seq: number;
  tables: Record<string, TablePush>;
  rows: number;
  ms: number;
}

export interface PushContext {
  store: string;
  device: Device;
  seat: Seat;
  withArchive: boolean;
  adopt: boolean;
  /** Called when the device is locked by another push, before waiting for it. */
  onWait?: () => void;
  /** Where the push is (`--debug`-level log lines): the tests read them to know where a kill landed. */
  trace?: (what: string) => void;
}

/** One push from `db` (the local database, with its triggers on) into the store. */
export async function pushOnce(sql: SQL, db: Database, ctx: PushContext): Promise<PushResult> {
  const started = performance.now();
  let reading = false;
  try {
    const out = await sql.begin(async (tx) => {
      ctx.trace?.("push: transaction open");
      await lockDevice(tx, ctx);
      // One read snapshot for the whole push, taken under the device's lock: a push of this device
      // that committed meanwhile is in it, so this one never finds the store ahead of its snapshot.
      db.run("BEGIN");
      reading = true;
      const head = logHead(db);
      const local: Local = { device: ctx.device, seat: ctx.seat, head: head.seq, withArchive: ctx.withArchive, adopt: ctx.adopt };
      const plan = planPush(db, await readStored(tx, ctx.device.deviceId), local);
      const device = await upsertDevice(tx, ctx, head);
      const tables = await sendTables(tx, db, plan, device, local, ctx.trace);
      await saveWatermarks(tx, device, head.seq);
      ctx.trace?.("push: committing");
      return { plan, tables, head };
    });
    ctx.trace?.("push: committed");
    const rows = Object.values(out.tables).reduce((a, t) => a + t.rows, 0);
    return {
      store: ctx.store, device_id: ctx.device.deviceId, device: ctx.device.name, user: ctx.device.user, whole_because: out.plan.reason,
      through_seq: out.head.seq, tables: out.tables, rows, ms: Math.round(performance.now() - started),
    };
  } finally {
    if (reading) db.run("COMMIT");
  }
}

/** Two pushes of one device (two followers, a push beside a service) take turns. */
async function lockDevice(tx: TransactionSQL, ctx: PushContext) {
  const [{ got }] = await tx`SELECT pg_try_advisory_xact_lock(hashtextextended(${ctx.device.deviceId}, 0)) AS got`;
  if (got) return;
  ctx.onWait?.();
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${ctx.device.deviceId}, 0))`;
}

async function upsertDevice(tx: TransactionSQL, ctx: PushContext, head: { seq: number; entry: string | null }): Promise<number> {
  const d = ctx.device, s = ctx.seat;
  const [{ device }] = await tx`
    INSERT INTO sluice.devices (device_id, name, user_label, host, db_path, db_file, with_archive, sluice, pushes, through_seq, through_entry)
    VALUES (${d.deviceId}, ${d.name}, ${d.user}, ${s.host}, ${s.dbPath}, ${s.dbFile}, ${ctx.withArchive}, ${VERSION}, 1, ${head.seq}, ${head.entry})
    ON CONFLICT (device_id) DO UPDATE SET name = EXCLUDED.name, user_label = EXCLUDED.user_label, host = EXCLUDED.host, db_path = EXCLUDED.db_path,
      db_file = EXCLUDED.db_file, with_archive = EXCLUDED.with_archive, sluice = EXCLUDED.sluice, last_push_at = now(),
      pushes = sluice.devices.pushes + 1, through_seq = EXCLUDED.through_seq, through_entry = EXCLUDED.through_entry
    RETURNING device`;
  return device as number;
}

async function sendTables(tx: TransactionSQL, db: Database, plan: Plan, device: number, local: Local, trace?: (m: string) => void): Promise<Record<string, TablePush>> {
  const limit = batchRows();
  const froms = [...plan.from.values()];
  const from = froms.length ? Math.min(...froms) : local.head;
  const counts = changedCounts(db, from, local.head);
  const whole = PUSH_TABLES.filter((t) => !plan.from.has(t.name));
  const changed = PUSH_TABLES.filter((t) => plan.from.has(t.name) && counts.get(t.code));
  if (changed.length) {
    // what changed, deleted rows included: the store's rows to replace are found by it
    await tx`CREATE TEMP TABLE push_changed (tbl int NOT NULL, id bigint, key text) ON COMMIT DROP`;
    await copyIn(tx, "push_changed", ["tbl", "id", "key"], changedEntries(db, from, local.head, limit));
  }
  // every delete in one round trip, then the rows, table by table
  const deletes = [...whole.map((t) => [t, [`DELETE FROM sluice.${t.name} WHERE device = ${device | 0}`]] as const), ...changed.map((t) => [t, deleteChanged(t, device)] as const)];
  const statements = deletes.flatMap(([, sqls]) => sqls);
  const results = statements.length ? await tx.unsafe(statements.join(";\n")).simple() : [];
  const counted = statements.length === 1 ? [results] : (results as unknown as Array<{ count: number }>);
  const sent = new Map<string, TablePush>();
  let r = 0;
  for (const [t, sqls] of deletes) {
    let deleted = 0;
    for (let i = 0; i < sqls.length; i++) deleted += Number(counted[r++]?.count ?? 0);
    const started = performance.now();
    const batches = plan.from.has(t.name) ? changedRows(db, t, device, local.withArchive, plan.from.get(t.name)!, local.head, limit) : allRows(db, t, device, local.withArchive, limit);
    const rows = await copyIn(tx, `sluice.${t.name}`, storeColumns(t), batches);
    trace?.(`push: ${t.name}: ${rows} rows in ${Math.round(performance.now() - started)} ms`);
    sent.set(t.name, { how: plan.from.has(t.name) ? "changes" : "whole", rows, deleted });
  }
  return Object.fromEntries(PUSH_TABLES.map((t) => [t.name, sent.get(t.name) ?? { how: "changes", rows: 0, deleted: 0 }]));
}

/**
 * The store's rows a changed table's log entries replace: of a rowid table, the rows of the
 * changed local ids and of the natural keys those rows have now (a call written again under a new
 * id); of a keyed table, the rows of the changed keys.
 */
function deleteChanged(t: PushTable, device: number): string[] {
  const of = (match: string) => `DELETE FROM sluice.${t.name} x USING push_changed c WHERE x.device = ${device | 0} AND c.tbl = ${t.code} AND ${match}`;
  if (t.kind === "keyed") return [of(`x.${t.key} = c.key`)];
  return [of(`x.${t.localId} = c.id`), ...(t.keyExpr ? [of(`x.${t.key} = c.key`)] : [])];
}
