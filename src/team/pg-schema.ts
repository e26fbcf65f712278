// The team store's schema in PostgreSQL, versioned like the SQLite side: numbered migrations in
// code, each applied once in a transaction and recorded in sluice.schema_version. A push brings an
// older store up to date; a store from a newer sluice is refused with one line before anything is
// written; a reader (`devices --from`) never migrates.
//
// Everything lives in the schema `sluice`, so the store can share a database with anything else.
// The tables are the local deep index's, keyed by device: the same names, columns and text times
// (canonical UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`, so text order is time order), so that a report can
// run the same sums over one device or all of them. Each table is indexed by device first (a push
// replaces one device's rows) and by time where a report reads a range.

import type { SQL } from "bun";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { VERSION } from "../runtime/version";
import type { StoreUrl } from "./url";

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

const TOKENS = `input_tokens bigint NOT NULL DEFAULT 0, output_tokens bigint NOT NULL DEFAULT 0, cache_read_tokens bigint NOT NULL DEFAULT 0,
  cache_write_5m_tokens bigint NOT NULL DEFAULT 0, cache_write_1h_tokens bigint NOT NULL DEFAULT 0`;

const V1 = `
  CREATE TABLE sluice.schema_version (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    sluice     text NOT NULL                     -- the sluice version that applied it
  );
  -- One row per device (a local database). 'device' is the short key every other table uses.
  CREATE TABLE sluice.devices (
    device        int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     uuid NOT NULL UNIQUE,          -- the id kept in the local database
    name          text NOT NULL,
    user_label    text NOT NULL,
    host          text NOT NULL,                 -- where it last pushed from: host, database path
    db_path       text NOT NULL,                 -- and the file's device:inode, which tell a copy
    db_file       text NOT NULL,                 -- of the database from the database itself
    with_archive  boolean NOT NULL DEFAULT false,
    sluice        text NOT NULL,
    first_push_at timestamptz NOT NULL DEFAULT now(),
    last_push_at  timestamptz NOT NULL DEFAULT now(),
    pushes        bigint NOT NULL DEFAULT 0,
    through_seq   bigint NOT NULL DEFAULT 0,     -- the local change log's seq the store holds through
    through_entry text                           -- and the entry that had that seq, to notice a log that went another way
  );
  -- The watermarks: per device and table, the local change seq this store holds every row through.
  -- Written in the transaction that writes the rows they cover.
  CREATE TABLE sluice.watermarks (
    device      int NOT NULL REFERENCES sluice.devices ON DELETE CASCADE,
    tbl         text NOT NULL,
    through_seq bigint NOT NULL,
    pushed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, tbl)
  );
  CREATE TABLE sluice.sessions (
    device int NOT NULL, session_key text NOT NULL, local_id bigint NOT NULL,
    agent text NOT NULL, agent_session_id text, project text, file text, parent_session text, is_sidechain int NOT NULL DEFAULT 0,
    agent_type text, git_branch text, tool_version text, first_at text, last_at text,
    turns bigint NOT NULL DEFAULT 0, user_messages bigint NOT NULL DEFAULT 0, tool_calls bigint NOT NULL DEFAULT 0,
    ${TOKENS}, reasoning_tokens bigint NOT NULL DEFAULT 0, primary_model text, compactions bigint NOT NULL DEFAULT 0,
    summary text, first_prompt text,               -- content: only with 'push --with-archive'
    PRIMARY KEY (device, session_key)
  );
  CREATE INDEX sessions_by_local_id ON sluice.sessions (device, local_id);
  CREATE INDEX sessions_by_last_at ON sluice.sessions (last_at);
  -- call_key: 'm<length of message_id>:<message_id><request_id>' for a call with both ids (unique
  -- locally), else 'r<local id>'.
  CREATE TABLE sluice.turns (
    device int NOT NULL, call_key text NOT NULL, local_id bigint NOT NULL, session_key text NOT NULL,
    seq bigint NOT NULL, message_id text, request_id text, model text, at text NOT NULL,
    ${TOKENS}, reasoning_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0,
    service_tier text, stop_reason text, is_sidechain int NOT NULL DEFAULT 0,
    PRIMARY KEY (device, call_key)
  );
  CREATE INDEX turns_by_local_id ON sluice.turns (device, local_id);
  CREATE INDEX turns_by_at ON sluice.turns (device, at);
  CREATE INDEX turns_by_session ON sluice.turns (device, session_key);
  -- use_key: 't:<tool_use_id>', else 'r<local id>'.
  CREATE TABLE sluice.invocations (
    device int NOT NULL, use_key text NOT NULL, local_id bigint NOT NULL, session_key text NOT NULL, turn_key text,
    at text, kind text NOT NULL, name text NOT NULL, tool_use_id text, is_error int,
    PRIMARY KEY (device, use_key)
  );
  CREATE INDEX invocations_by_local_id ON sluice.invocations (device, local_id);
  CREATE INDEX invocations_by_session ON sluice.invocations (device, session_key);
  CREATE TABLE sluice.agent_files (
    device int NOT NULL, file_id bigint NOT NULL, path text NOT NULL, agent text NOT NULL, session_key text,
    size bigint, mtime_ms double precision, indexed_offset bigint, lines bigint, malformed bigint, unknown bigint, indexed_at text,
    PRIMARY KEY (device, file_id)
  );
  CREATE TABLE sluice.models (
    device int NOT NULL, id text NOT NULL, provider text NOT NULL, family text NOT NULL, first_seen text, last_seen text, calls bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (device, id)
  );
  -- The reports' table: the turns summed per 15-minute UTC bucket ('YYYY-MM-DDTHH:MM') and model.
  CREATE TABLE sluice.usage_buckets (
    device int NOT NULL, bucket text NOT NULL, model text NOT NULL, calls bigint NOT NULL, ${TOKENS},
    input_above bigint NOT NULL DEFAULT 0, output_above bigint NOT NULL DEFAULT 0, cache_read_above bigint NOT NULL DEFAULT 0,
    cache_write_5m_above bigint NOT NULL DEFAULT 0, cache_write_1h_above bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (device, bucket, model)
  );
  CREATE INDEX usage_buckets_by_bucket ON sluice.usage_buckets (bucket);
  CREATE TABLE sluice.flows (
    device int NOT NULL, flow_id text NOT NULL, source text, sid text, round bigint, turn_id text, model text, message_id text,
    started_at text, first_token_at text, ended_at text, ttft_ms double precision, duration_ms double precision,
    output_tokens_per_s double precision, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
    stop_reason text, lines bigint NOT NULL,
    PRIMARY KEY (device, flow_id)
  );
  CREATE INDEX flows_by_started ON sluice.flows (device, started_at);
`;

export const PG_MIGRATIONS: PgMigration[] = [{ version: 1, name: "devices, watermarks and the deep index's tables", sql: V1 }];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

/** One number for the whole store's migrations: two pushes starting together on a new store wait in turn. */
const MIGRATION_LOCK = 0x736c7569_63650001n;

/** The store's schema version: 0 when it has none yet. One round trip when it has one. */
export async function storeVersion(sql: SQL): Promise<number> {
  try {
    const [{ v }] = await sql`SELECT coalesce(max(version), 0)::int AS v FROM sluice.schema_version`;
    return v as number;
  } catch (err) {
    // 42P01 no such table, 3F000 no such schema: a store not made yet
    if (["42P01", "3F000"].includes(String((err as { errno?: string }).errno))) return 0;
    throw err;
  }
}

/** The same inside a transaction, where a failed statement would abort it. */
async function versionIn(tx: SQL): Promise<number> {
  const [{ present }] = await tx`SELECT to_regclass('sluice.schema_version') IS NOT NULL AS present`;
  if (!present) return 0;
  const [{ v }] = await tx`SELECT coalesce(max(version), 0)::int AS v FROM sluice.schema_version`;
  return v as number;
}

function newer(url: StoreUrl, version: number): SluiceError {
  return new SluiceError(
    `the team store at ${url.masked} has schema version ${version}, made by a newer sluice (this one knows up to ${PG_SCHEMA_VERSION}); upgrade sluice on this machine`,
    EXIT_USAGE,
  );
}

/** Brings the store to this sluice's schema, or refuses a newer one; nothing is written in that case. */
export async function migrateStore(sql: SQL, url: StoreUrl): Promise<void> {
  const seen = await storeVersion(sql);
  if (seen > PG_SCHEMA_VERSION) throw newer(url, seen);
  if (seen === PG_SCHEMA_VERSION) return;
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    // read again under the lock: another push may have migrated meanwhile
    const version = await versionIn(tx);
    if (version > PG_SCHEMA_VERSION) throw newer(url, version);
    if (version === 0) await tx`CREATE SCHEMA IF NOT EXISTS sluice`;
    for (const m of PG_MIGRATIONS) {
      if (m.version <= version) continue;
      await tx.unsafe(m.sql).simple();
      await tx`INSERT INTO sluice.schema_version (version, name, sluice) VALUES (${m.version}, ${m.name}, ${VERSION})`;
    }
  });
}

/** A reader's check: the store exists and is at this sluice's version. */
export async function requireStore(sql: SQL, url: StoreUrl): Promise<void> {
  const version = await storeVersion(sql);
  if (version > PG_SCHEMA_VERSION) throw newer(url, version);
  if (version === 0) throw new SluiceError(`${url.masked} holds no sluice team store yet; run 'sluice push ${url.masked}' first`, EXIT_USAGE);
  if (version < PG_SCHEMA_VERSION) {
    throw new SluiceError(`the team store at ${url.masked} is at schema version ${version} and this sluice reads ${PG_SCHEMA_VERSION}; run 'sluice push' once with this sluice to upgrade it`, EXIT_USAGE);
  }
}
