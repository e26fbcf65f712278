// The schema, as numbered migrations. `PRAGMA user_version` holds the number of the last one
// applied; each runs in its own transaction, so a database is always at exactly one version.

import type { Database } from "bun:sqlite";
import { fillUsageBuckets } from "./usage-buckets";

/** Marks a database as sluice's (`PRAGMA application_id`, "SLCE"). */
export const APPLICATION_ID = 0x534c4345;

export interface Migration {
  version: number;
  name: string;
  /** True when it rewrites existing rows, so a copy of the database is taken first. */
  rewritesData: boolean;
  up(db: Database): void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "sources, sse_rows, sse_raw, rejects and the sse_lines view",
    rewritesData: false,
    up(db) {
      db.run(`
        -- One row per identity of an input: a file (device, inode and a fingerprint of its first
        -- bytes) or one run of stdin. A rotated, truncated or replaced file gets a new row.
        CREATE TABLE sources (
          id               INTEGER PRIMARY KEY,
          path             TEXT NOT NULL,
          kind             TEXT NOT NULL CHECK (kind IN ('file', 'stdin')),
          dev              INTEGER,
          ino              INTEGER,
          fingerprint      TEXT,             -- hash of the first fingerprint_len bytes
          fingerprint_len  INTEGER NOT NULL DEFAULT 0,
          committed_offset INTEGER NOT NULL DEFAULT 0, -- just past the last committed line
          lines            INTEGER NOT NULL DEFAULT 0,  -- rows committed from this source
          rejects          INTEGER NOT NULL DEFAULT 0,
          state            TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
          created_at       TEXT NOT NULL,
          last_commit_at   TEXT
        );
        CREATE INDEX sources_by_path ON sources(path, state);

        -- Every identity change sluice notices: truncation, replacement, rotation, a moved file.
        CREATE TABLE source_events (
          id        INTEGER PRIMARY KEY,
          source_id INTEGER NOT NULL REFERENCES sources(id),
          at        TEXT NOT NULL,
          kind      TEXT NOT NULL,
          detail    TEXT
        );

        -- The extracted fields. Kept apart from the raw lines so that building an index scans
        -- about 150 bytes a row instead of the whole line. The fields carry no declared type so
        -- that each keeps the type JSON.parse gave it (a number stays a number, text stays text).
        CREATE TABLE sse_rows (
          id           INTEGER PRIMARY KEY,
          file_id      INTEGER NOT NULL,
          byte_offset  INTEGER NOT NULL,
          t, source, sid, flow_id, round, event, meta_pid, meta_cwd, meta_turn_id
        );

        -- The line exactly as read, without its terminator; same id as its sse_rows row.
        CREATE TABLE sse_raw (
          id  INTEGER PRIMARY KEY,
          raw TEXT NOT NULL
        );

        -- line and metadata decoded by JSON.parse, only for the rare rows where SQLite's JSON
        -- functions on the raw line would read them differently (duplicate or escaped keys,
        -- non-string values).
        CREATE TABLE sse_decoded (
          id       INTEGER PRIMARY KEY,
          metadata,
          line
        );

        -- Lines that are not JSON objects, not UTF-8, or too long: never dropped silently.
        CREATE TABLE rejects (
          id          INTEGER PRIMARY KEY,
          file_id     INTEGER NOT NULL,
          byte_offset INTEGER NOT NULL,
          length      INTEGER NOT NULL,
          reason      TEXT NOT NULL,
          head        BLOB NOT NULL            -- the first 4 KiB of the line
        );

        -- What queries read. line and metadata are decoded here, on read: decoding them on write
        -- would cost more than everything else the ingester does.
        CREATE VIEW sse_lines AS
          SELECT x.raw, r.file_id, r.byte_offset, r.t, r.source, r.sid, r.flow_id, r.round, r.event,
                 r.meta_pid, r.meta_cwd, r.meta_turn_id,
                 CASE WHEN d.id IS NULL THEN x.raw ->> '$.metadata' ELSE d.metadata END AS metadata,
                 CASE WHEN d.id IS NULL THEN x.raw ->> '$.line' ELSE d.line END AS line
          FROM sse_rows r JOIN sse_raw x ON x.id = r.id LEFT JOIN sse_decoded d ON d.id = r.id;
      `);
    },
  },
  {
    version: 2,
    name: "the ingester row: lock, mode and heartbeat of the running ingester",
    rewritesData: false,
    up(db) {
      db.run(`
        -- One row, kept by the ingester that holds the database: it is the lock against a second
        -- writer (a live PID on this host holds it) and what 'sluice status' reports.
        CREATE TABLE ingester (
          id              INTEGER PRIMARY KEY CHECK (id = 1),
          pid             INTEGER NOT NULL,
          host            TEXT NOT NULL,
          mode            TEXT NOT NULL,   -- backfill, live, stopped
          input           TEXT,
          source_id       INTEGER,
          started_at      TEXT NOT NULL,
          heartbeat_at    TEXT NOT NULL,
          rss_bytes       INTEGER,
          max_rss_bytes   INTEGER,
          input_size      INTEGER,         -- size of the input at the last heartbeat
          lines_per_s     REAL             -- over the last heartbeat interval
        );
      `);
    },
  },
  {
    version: 3,
    name: "lag in the ingester row, and the record of integrity checks",
    rewritesData: false,
    up(db) {
      db.run(`
        -- lines_per_s is now over the last minute. The lag is what 'sluice stats' judges health by.
        ALTER TABLE ingester ADD COLUMN lag_bytes INTEGER;          -- input size minus the read position
        ALTER TABLE ingester ADD COLUMN lag_growth_bytes INTEGER;   -- lag now minus lag a minute ago

        -- Every 'sluice check': what stats reports as the integrity of the database, without
        -- reading the whole file on each health probe.
        CREATE TABLE checks (
          id       INTEGER PRIMARY KEY,
          at       TEXT NOT NULL,
          kind     TEXT NOT NULL CHECK (kind IN ('quick', 'full')),
          ok       INTEGER NOT NULL,
          problems TEXT NOT NULL          -- JSON array of one-line descriptions
        );
      `);
    },
  },
  {
    version: 4,
    name: "the deep index: agent log files, sessions, turns, invocations, models",
    rewritesData: false,
    up(db) {
      db.run(`
        -- One row per agent log file indexed, and how far: a file that grew with the same identity
        -- is read on from indexed_offset; one rewritten is indexed again from byte 0.
        CREATE TABLE agent_files (
          id             INTEGER PRIMARY KEY,
          path           TEXT NOT NULL UNIQUE,
          agent          TEXT NOT NULL CHECK (agent IN ('claude', 'codex')),
          session_id     INTEGER,
          dev            INTEGER,
          ino            INTEGER,
          fingerprint    TEXT,               -- hash of the first fingerprint_len bytes
          fingerprint_len INTEGER NOT NULL DEFAULT 0,
          size           INTEGER NOT NULL DEFAULT 0,
          mtime_ms       REAL,
          indexed_offset INTEGER NOT NULL DEFAULT 0,
          lines          INTEGER NOT NULL DEFAULT 0,
          malformed      INTEGER NOT NULL DEFAULT 0,  -- lines that are not JSON objects
          unknown        INTEGER NOT NULL DEFAULT 0,  -- lines of a type this sluice does not know
          state          TEXT,               -- the parser's carry-over between increments (JSON)
          indexed_at     TEXT
        );

        -- One per session file: a Claude Code transcript, a subagent's transcript, or a Codex rollout.
        -- The counters and totals are recomputed from turns and invocations after each batch.
        CREATE TABLE sessions (
          id                 INTEGER PRIMARY KEY,
          agent              TEXT NOT NULL,
          session_key        TEXT NOT NULL UNIQUE,  -- agent:id, or claude:<parent>/agent-<id> for a subagent
          agent_session_id   TEXT,                  -- the agent's own session id
          project            TEXT,                  -- the working directory
          file               TEXT NOT NULL,
          parent_session     TEXT,                  -- a subagent's parent session id
          is_sidechain       INTEGER NOT NULL DEFAULT 0,
          agent_type         TEXT,                  -- a subagent's type, or the Codex originator
          git_branch         TEXT,
          tool_version       TEXT,
          first_at           TEXT,
          last_at            TEXT,
          turns              INTEGER NOT NULL DEFAULT 0,
          user_messages      INTEGER NOT NULL DEFAULT 0,
          tool_calls         INTEGER NOT NULL DEFAULT 0,
          input_tokens       INTEGER NOT NULL DEFAULT 0,
          output_tokens      INTEGER NOT NULL DEFAULT 0,
          cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
          cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
          cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
          reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
          primary_model      TEXT,
          summary            TEXT,
          first_prompt       TEXT,                  -- the first 200 characters
          compactions        INTEGER NOT NULL DEFAULT 0
        );

        -- One per model call, counted once: Claude Code writes a line per content block, all with
        -- the same message and request ids, so (message_id, request_id) is unique and the row keeps
        -- the line with the largest total, a main-chain copy beating a sidechain replay.
        CREATE TABLE turns (
          id                 INTEGER PRIMARY KEY,
          session_id         INTEGER NOT NULL REFERENCES sessions(id),
          seq                INTEGER NOT NULL,
          message_id         TEXT,
          request_id         TEXT,
          model              TEXT,
          at                 TEXT NOT NULL,
          input_tokens       INTEGER NOT NULL DEFAULT 0,   -- not cached
          output_tokens      INTEGER NOT NULL DEFAULT 0,
          cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
          cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
          cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
          reasoning_tokens   INTEGER NOT NULL DEFAULT 0,   -- part of output_tokens
          total_tokens       INTEGER NOT NULL DEFAULT 0,
          service_tier       TEXT,
          stop_reason        TEXT,
          is_sidechain       INTEGER NOT NULL DEFAULT 0,
          file_id            INTEGER NOT NULL,
          byte_offset        INTEGER NOT NULL,
          UNIQUE (message_id, request_id)
        );
        CREATE INDEX turns_by_session ON turns(session_id);
        CREATE INDEX turns_by_at ON turns(at);
        CREATE INDEX turns_by_file ON turns(file_id);

        -- One per tool use.
        CREATE TABLE invocations (
          id           INTEGER PRIMARY KEY,
          session_id   INTEGER NOT NULL REFERENCES sessions(id),
          turn_id      INTEGER,
          at           TEXT,
          kind         TEXT NOT NULL CHECK (kind IN ('tool', 'mcp', 'skill', 'subagent', 'slash_command')),
          name         TEXT NOT NULL,
          tool_use_id  TEXT UNIQUE,
          is_error     INTEGER,              -- from its result; NULL until (or unless) one is seen
          file_id      INTEGER NOT NULL,
          byte_offset  INTEGER NOT NULL
        );
        CREATE INDEX invocations_by_session ON invocations(session_id);
        CREATE INDEX invocations_by_file ON invocations(file_id);

        CREATE TABLE models (
          id          TEXT PRIMARY KEY,
          provider    TEXT NOT NULL,
          family      TEXT NOT NULL,
          first_seen  TEXT,
          last_seen   TEXT,
          calls       INTEGER NOT NULL DEFAULT 0
        );

        -- One per model call captured in sse_lines (one flow_id), with the latency figures only the
        -- raw stream has. Built from sse_rows past index_state.flows_through_id, SQL-side.
        CREATE TABLE flows (
          flow_id             TEXT PRIMARY KEY,
          source              TEXT,
          sid                 TEXT,
          round               INTEGER,
          turn_id             TEXT,
          model               TEXT,
          message_id          TEXT,               -- the API's message or response id
          started_at          TEXT,               -- the first line of the stream
          first_token_at      TEXT,               -- the first content delta
          ended_at            TEXT,               -- the last line
          ttft_ms             REAL,               -- time to first token
          duration_ms         REAL,
          output_tokens_per_s REAL,               -- output tokens over the time from first token to end
          input_tokens        INTEGER,            -- not cached
          output_tokens       INTEGER,
          cache_read_tokens   INTEGER,
          cache_write_tokens  INTEGER,
          stop_reason         TEXT,
          lines               INTEGER NOT NULL
        );
        CREATE INDEX flows_by_started ON flows(started_at);

        -- Small facts the indexer keeps between runs.
        CREATE TABLE index_state (
          key   TEXT PRIMARY KEY,
          value
        );
      `);
    },
  },
  {
    version: 5,
    name: "turn indexes for the per-model totals and the reports",
    rewritesData: false,
    up(db) {
      db.run(`
        -- The models table is recomputed from min(at), max(at) and count(*) per model after every
        -- index run: without this index each model touched meant a scan of every turn.
        CREATE INDEX turns_by_model ON turns(model, at);
        -- Covers the reports: a day's or a month's sums and costs read this index, not the wide rows.
        DROP INDEX turns_by_at;
        CREATE INDEX turns_usage_by_at ON turns(at, model, input_tokens, output_tokens, cache_read_tokens,
          cache_write_5m_tokens, cache_write_1h_tokens);

        -- The turns summed per 15-minute bucket (UTC) and model, kept current by the indexer
        -- (db/usage-buckets.ts). The *_above columns sum each call's tokens past 200k, which the
        -- long-context price needs.
        CREATE TABLE usage_buckets (
          bucket                 TEXT NOT NULL,     -- 'YYYY-MM-DDTHH:MM', the bucket's start
          model                  TEXT NOT NULL,     -- 'unknown' when a turn has none
          calls                  INTEGER NOT NULL,
          input_tokens           INTEGER NOT NULL,
          output_tokens          INTEGER NOT NULL,
          cache_read_tokens      INTEGER NOT NULL,
          cache_write_5m_tokens  INTEGER NOT NULL,
          cache_write_1h_tokens  INTEGER NOT NULL,
          input_above            INTEGER NOT NULL,
          output_above           INTEGER NOT NULL,
          cache_read_above       INTEGER NOT NULL,
          cache_write_5m_above   INTEGER NOT NULL,
          cache_write_1h_above   INTEGER NOT NULL,
          PRIMARY KEY (bucket, model)
        ) WITHOUT ROWID;
      `);
      fillUsageBuckets(db);
    },
  },
  {
    version: 6,
    name: "turns and invocations keyed by named unique indexes; three indexes fewer",
    rewritesData: true,
    up(db) {
      // The unique keys become indexes of their own, so a first index can load the rows without
      // them and build them once, sorted (deep-index/bulk-load.ts). A rewritten file's rows are
      // found through their session, and the models come from usage_buckets and turns_usage_by_at:
      // turns_by_file, invocations_by_file and turns_by_model were kept up at every insert for
      // nothing else.
      rebuildTable(db, "turns", (sql) => sql.replace(/,\s*UNIQUE \(message_id, request_id\)/, ""));
      rebuildTable(db, "invocations", (sql) => sql.replace(/(tool_use_id\s+TEXT) UNIQUE/, "$1"));
      db.run(`
        -- One per model call: Claude Code writes a line per content block, all with the same
        -- message and request ids; the row keeps the line with the largest total.
        CREATE UNIQUE INDEX turns_by_call ON turns(message_id, request_id);
        CREATE INDEX turns_by_session ON turns(session_id);
        CREATE INDEX turns_usage_by_at ON turns(at, model, input_tokens, output_tokens, cache_read_tokens,
          cache_write_5m_tokens, cache_write_1h_tokens);
        CREATE UNIQUE INDEX invocations_by_tool_use ON invocations(tool_use_id);
        CREATE INDEX invocations_by_session ON invocations(session_id);
      `);
    },
  },
];


export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Rebuilds a table with its definition edited (SQLite cannot drop a table constraint in place):
 * the new table from the stored CREATE TABLE, comments and all, then its rows, then the name.
 * Its indexes go with the old table; the caller makes the new ones.
 */
function rebuildTable(db: Database, table: string, edit: (sql: string) => string) {
  const { sql } = db.query("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) as { sql: string };
  const edited = edit(sql);
  if (edited === sql) throw new Error(`the definition of ${table} is not the one this migration expects`);
  const columns = (db.query(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(", ");
  db.run(edited.replace(/^CREATE TABLE "?\w+"?/, `CREATE TABLE ${table}_rebuilt`));
  db.run(`INSERT INTO ${table}_rebuilt (${columns}) SELECT ${columns} FROM "${table}"`);
  db.run(`DROP TABLE "${table}"`);
  db.run(`ALTER TABLE ${table}_rebuilt RENAME TO "${table}"`);
}
