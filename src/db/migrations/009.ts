// Migration 9: what the capture keeps to know a file again: a fingerprint of the bytes just before
// the committed offset, and the file's own path (its symlinks resolved).
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v9: Migration = {
  version: 9,
  name: "sources: the tail fingerprint and the file's own path",
  rewritesData: false,
  up(db) {
    db.run(`
      -- Hash of the 4 KiB just before committed_offset (all of it below 4 KiB), written in the
      -- transaction that moves the offset. A file rewritten in place with its first 4 KiB
      -- unchanged differs here; the next run then reads it from byte 0 as a new source. A column,
      -- not derived from the last raw line in sse_raw: that line leaves out its terminator (and a
      -- carriage return), the blank lines after it and every rejected line, so it proves less, and
      -- finding it costs a search of sse_rows. NULL: none taken (a source committed before this
      -- version, or stdin), which proves nothing either way.
      ALTER TABLE sources ADD COLUMN tail_fingerprint TEXT;
      -- The path of the file itself when the source was made (through any symlink): a file that
      -- left the path is looked for in its directory too, where a re-pointed symlink left it.
      ALTER TABLE sources ADD COLUMN real_path TEXT;
    `);
  },
};
