// Migration 17: messages_by_file goes. Every message of a file is in the file's one session, so
// messages_by_session (session_id, file_id, byte_offset, part) finds a file's messages as well:
// the writer's drop and tool lookup name the session too. The index held 10.2 MB of the 1 GB
// corpus's 578 MB database, the part that kept it above half the bytes of its logs (0.502x).
// A bulk load killed before this migration saved the messages' indexes to make again: the dropped
// one is taken out of that list, or the next run would bring it back.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v17: Migration = {
  version: 17,
  name: "messages found by file through their session's index",
  rewritesData: false,
  up(db) {
    db.run(`
      DROP INDEX IF EXISTS messages_by_file;
      UPDATE index_state SET value = (SELECT json_group_array(j.value) FROM json_each(index_state.value) AS j WHERE j.value NOT LIKE '%messages_by_file%')
      WHERE key = 'messages_indexes';
    `);
  },
};
