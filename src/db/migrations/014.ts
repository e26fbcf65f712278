// Migration 14: sessions found by the agent's own session id, and a session's subagents by their
// parent. The status line, `report session --id`, `show` and the dashboard's conversation view
// look a session up by the id the agent gave it; without these each look read the whole sessions
// table (its rows hold the first prompt: 3.4 ms of a status line's 55 on the 1 GB corpus index).
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v14: Migration = {
  version: 14,
  name: "sessions by the agent's session id and by parent",
  rewritesData: false,
  up(db) {
    db.run(`
      CREATE INDEX sessions_by_agent_session ON sessions(agent_session_id);
      CREATE INDEX sessions_by_parent ON sessions(parent_session, agent);
    `);
  },
};
