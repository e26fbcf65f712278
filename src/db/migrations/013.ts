// Migration 13: indexes for the dashboard's tools page (`sluice serve`, /api/tools). Its table of
// every tool, MCP tool, skill, subagent and command grouped every invocations row (250,000 on the
// 1 GB corpus: 170-250 ms after each commit); with these it counts each group from a narrow index,
// reads each group's last call and its errors by a seek, and each one's calls per day by a range.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v13: Migration = {
  version: 13,
  name: "invocations by tool and time; the errors apart",
  rewritesData: false,
  up(db) {
    db.run(`
      CREATE INDEX invocations_by_tool ON invocations(kind, name, at);
      -- the calls that failed: a small part of them, kept apart (a partial index)
      CREATE INDEX invocations_errors ON invocations(kind, name, at) WHERE is_error = 1;
    `);
  },
};
