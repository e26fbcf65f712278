// Migration 4: the deep index: agent log files, sessions, turns, invocations, models.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v4: Migration = {
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
};
