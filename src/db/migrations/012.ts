// Migration 12: the archive's messages (one row per prompt, assistant text, tool call and tool
// result) and their full-text index (FTS5, external content: the text is stored once).
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v12: Migration = {
  version: 12,
  name: "the archive's messages and their full-text index",
  rewritesData: false,
  up(db) {
    db.run(`
      CREATE TABLE messages (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL,        -- sessions.id (a subagent's messages are its own session's)
        file_id     INTEGER NOT NULL,        -- agent_files.id
        byte_offset INTEGER NOT NULL,        -- the line's, in the file's latest generation
        part        INTEGER NOT NULL,        -- the block's place in its line
        kind        TEXT NOT NULL,           -- prompt, text, tool_call, tool_result, compaction, summary
        role        TEXT NOT NULL,           -- user, assistant, tool
        at          TEXT,                    -- canonical UTC time
        model       TEXT,
        tool        TEXT,                    -- a tool call's or result's tool name
        tool_use_id TEXT,                    -- pairs a tool call with its result
        text        TEXT NOT NULL,           -- credentials masked; a long tool output only its head
        length      INTEGER NOT NULL         -- characters of the whole text (more than text holds when cut)
      );
      CREATE INDEX messages_by_file ON messages(file_id, byte_offset);
      CREATE INDEX messages_by_session ON messages(session_id, file_id, byte_offset, part);
      CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
      -- The search index follows the messages, except while a first index writes them in bulk
      -- (index_state 'messages_fts' = 'pending'): it is rebuilt whole at the end of that run, or
      -- at the start of the next one if the run was killed.
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
      WHEN NOT EXISTS (SELECT 1 FROM index_state WHERE key = 'messages_fts') BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (NEW.id, NEW.text);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
      WHEN NOT EXISTS (SELECT 1 FROM index_state WHERE key = 'messages_fts') BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
      END;
    `);
  },
};
