// The team store read into an index in memory (db/memory.ts) with the local schema, so that
// `report --from postgres://...` runs the same report code as a local report, with the same JSON.
// The devices are chosen first (--device, --user); then only what the report reads is fetched:
// the usage buckets summed over the chosen devices in PostgreSQL (a few thousand rows, whatever the
// number of devices) for daily, weekly and monthly; the sessions, turns and models of the chosen
// devices for session, models, blocks and filtered reports.

import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { memoryIndex } from "../db/memory";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { connectStore, describePgError } from "./connection";
import { requireStore } from "./pg-schema";
import type { StoreUrl } from "./url";

export interface StoreDeviceRow {
  device: number;
  device_id: string;
  name: string;
  user: string;
}

export interface TeamChoice {
  /** Device names or ids (a unique prefix of the id will do). */
  device?: string;
  user?: string;
}

const COUNTS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"];
const ABOVE = ["input_above", "output_above", "cache_read_above", "cache_write_5m_above", "cache_write_1h_above"];

/** Runs `work` with a connection to the store, its failures said in one line. */
export async function withStore<T>(url: StoreUrl, work: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = connectStore(url);
  try {
    await requireStore(sql, url);
    return await work(sql);
  } catch (err) {
    throw describePgError(err, url, "reading the store");
  } finally {
    await sql.close({ timeout: 1 }).catch(() => {});
  }
}

/** The devices --device and --user choose; refused with one line when they choose none. */
export async function chooseDevices(sql: SQL, url: StoreUrl, choice: TeamChoice): Promise<StoreDeviceRow[]> {
  const all = (await sql`SELECT device, device_id::text AS device_id, name, user_label AS "user" FROM sluice.devices ORDER BY user_label, name, device_id`) as StoreDeviceRow[];
  let chosen = all;
  if (choice.user !== undefined) chosen = chosen.filter((d) => d.user === choice.user);
  if (choice.device !== undefined) chosen = chosen.filter((d) => d.name === choice.device || d.device_id.startsWith(choice.device!));
  if (!chosen.length) {
    const what = [choice.device !== undefined ? `device ${choice.device}` : "", choice.user !== undefined ? `user ${choice.user}` : ""].filter(Boolean).join(" and ");
    const known = all.map((d) => `${d.name} (${d.user})`).slice(0, 6).join(", ");
    throw new SluiceError(all.length ? `the team store at ${url.masked} has no ${what}; it has ${known}${all.length > 6 ? ", ..." : ""}` : `the team store at ${url.masked} has no devices yet; 'sluice push' adds one`, EXIT_USAGE);
  }
  return chosen;
}

/** The chosen devices' usage buckets, summed over the devices in PostgreSQL, into a new index in memory. */
export async function bucketsIndex(sql: SQL, devices: number[]): Promise<Database> {
  const rows = await sql.unsafe(
    `SELECT bucket, model, sum(calls)::float8 AS calls, ${[...COUNTS, ...ABOVE].map((c) => `sum(${c})::float8 AS ${c}`).join(", ")}
     FROM sluice.usage_buckets WHERE device = ANY($1::int[]) GROUP BY bucket, model ORDER BY bucket, model`,
    [devices],
  ).values();
  const db = memoryIndex();
  const insert = db.prepare(`INSERT INTO usage_buckets (bucket, model, calls, ${[...COUNTS, ...ABOVE].join(", ")}) VALUES (${Array(13).fill("?").join(", ")})`);
  db.transaction(() => {
    for (const r of rows as unknown[][]) insert.run(...(r as Array<string | number>));
  })();
  markIndexed(db);
  return db;
}

/**
 * The chosen devices' sessions, turns, models and buckets into a new index in memory. A session
 * key two devices share (the same logs on two machines) is kept apart for each: `<key>@<device>`
 * for the second.
 */
export async function fullIndex(sql: SQL, devices: number[]): Promise<Database> {
  const db = await bucketsIndex(sql, devices);
  const sessions = await sql.unsafe(
    `SELECT device, session_key, agent, agent_session_id, project, coalesce(file, '') AS file, parent_session, is_sidechain, agent_type, first_at, last_at
     FROM sluice.sessions WHERE device = ANY($1::int[]) ORDER BY device, local_id`,
    [devices],
  ).values();
  const ids = new Map<string, number>();
  const keys = new Set<string>();
  const insertSession = db.prepare(`INSERT INTO sessions (agent, session_key, agent_session_id, project, file, parent_session, is_sidechain, agent_type, first_at, last_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`);
  db.transaction(() => {
    for (const [device, key, ...rest] of sessions as unknown[][]) {
      const local = keys.has(key as string) ? `${key}@${device}` : (key as string);
      keys.add(local);
      const { id } = insertSession.get(rest[0] as string, local as string, ...(rest.slice(1) as Array<string | number | null>)) as { id: number };
      ids.set(`${device} ${key}`, id);
    }
  })();
  const turns = await sql.unsafe(
    `SELECT device, session_key, seq, model, at, ${COUNTS.join(", ")}, reasoning_tokens, total_tokens, is_sidechain
     FROM sluice.turns WHERE device = ANY($1::int[])`,
    [devices],
  ).values();
  const insertTurn = db.prepare(`INSERT INTO turns (session_id, seq, model, at, ${COUNTS.join(", ")}, reasoning_tokens, total_tokens, is_sidechain, file_id, byte_offset)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`);
  db.transaction(() => {
    for (const [device, key, ...rest] of turns as unknown[][]) {
      const id = ids.get(`${device} ${key}`);
      if (id !== undefined) insertTurn.run(id, ...(rest as Array<string | number | null>));
    }
  })();
  const models = await sql`SELECT id, min(provider) AS provider, min(family) AS family, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(calls)::float8 AS calls
    FROM sluice.models WHERE device = ANY(${devices}::int[]) GROUP BY id`.values();
  const insertModel = db.prepare("INSERT INTO models (id, provider, family, first_seen, last_seen, calls) VALUES (?, ?, ?, ?, ?, ?)");
  db.transaction(() => {
    for (const m of models as unknown[][]) insertModel.run(...(m as Array<string | number | null>));
  })();
  return db;
}

/** The reports check that a deep index exists by its files: the store's index is one. */
function markIndexed(db: Database) {
  const columns = db.query("SELECT name, \"notnull\" AS nn, dflt_value AS d FROM pragma_table_info('agent_files')").all() as Array<{ name: string; nn: number; d: unknown }>;
  const required = columns.filter((c) => c.nn && c.d === null && c.name !== "id");
  db.run(`INSERT INTO agent_files (${required.map((c) => c.name).join(", ")}) VALUES (${required.map(() => "?").join(", ")})`, required.map((c) => (c.name === "path" ? "(team store)" : c.name === "agent" ? "claude" : 0)));
}
