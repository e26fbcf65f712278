// Migration 1: sources, sse_rows, sse_raw, rejects and the sse_lines view.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v1: Migration = {
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
};
