// Migration 6: turns and invocations keyed by named unique indexes; three indexes fewer.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";
import { rebuildTable } from "./rebuild-table";

export const v6: Migration = {
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
};
