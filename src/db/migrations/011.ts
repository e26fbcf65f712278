// Migration 11: the archive: every byte of every agent log file indexed, kept compressed, so that
// `sluice export` writes the original file back after the agent deleted it (docs/archive.md).
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v11: Migration = {
  version: 11,
  name: "the archive: agent log files kept byte for byte",
  rewritesData: false,
  up(db) {
    db.run(`
      -- One row per content a file has had: generation 1 is what was first read; a file rewritten
      -- since (read again from byte 0) starts the next generation, and the earlier ones stay.
      -- The latest generation of a file is the one the index reads on.
      CREATE TABLE archive_generations (
        file_id     INTEGER NOT NULL,        -- agent_files.id
        generation  INTEGER NOT NULL,
        archived_to INTEGER NOT NULL DEFAULT 0,  -- archive_chunks hold [0, archived_to): the complete lines
        tail        BLOB,                    -- the bytes past archived_to when last read (a last line not finished yet)
        started_at  TEXT NOT NULL,
        replaced_at TEXT,                    -- when a rewrite made this generation an earlier one
        PRIMARY KEY (file_id, generation)
      ) WITHOUT ROWID;

      -- The bytes, in pieces of up to 1 MiB, each compressed alone (zstd): a file that grows adds
      -- pieces (its last small piece is packed again with the new bytes), and one session is read
      -- without decompressing any other.
      CREATE TABLE archive_chunks (
        file_id    INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        start      INTEGER NOT NULL,         -- byte offset in the file
        length     INTEGER NOT NULL,         -- bytes before compression
        data       BLOB NOT NULL,            -- zstd frame
        PRIMARY KEY (file_id, generation, start)
      );
    `);
  },
};
