// Finds the session a user names: by the agent's own session id (or a unique prefix of it), by
// the index's session key, or by the id of the row. Shared by export, show and search's --session.

import type { Database } from "bun:sqlite";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";

export interface SessionRow {
  id: number;
  agent: string;
  session_key: string;
  agent_session_id: string | null;
  project: string | null;
  parent_session: string | null;
  is_sidechain: number;
  agent_type: string | null;
  first_at: string | null;
  last_at: string | null;
}

export const SESSION_COLUMNS = "id, agent, session_key, agent_session_id, project, parent_session, is_sidechain, agent_type, first_at, last_at";

/**
 * The sessions a name matches, best first: an exact agent session id or key, else a prefix of
 * either (a Codex rollout's key holds its id). A main session matches before its subagents.
 */
export function findSessions(db: Database, name: string): SessionRow[] {
  const exact = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE agent_session_id = ?1 AND parent_session IS NULL OR session_key = ?1 OR session_key = 'claude:' || ?1
    OR session_key = 'codex:' || ?1 ORDER BY parent_session IS NOT NULL, id`).all(name) as SessionRow[];
  if (exact.length) return exact;
  if (name.length < 4) return [];
  const like = `${name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE (agent_session_id LIKE ?1 ESCAPE '\\' AND parent_session IS NULL) OR session_key LIKE 'claude:' || ?1 ESCAPE '\\'
    OR session_key LIKE 'codex:' || ?1 ESCAPE '\\' OR session_key LIKE 'codex:%' || ?1 ESCAPE '\\' ORDER BY id LIMIT 20`).all(like) as SessionRow[];
}

/** The one session a name means, or a one-line error (none, or several: name them). */
export function resolveSession(db: Database, name: string): SessionRow {
  const rows = findSessions(db, name);
  if (!rows.length) throw new SluiceError(`no session matches '${name}'; 'sluice report session' lists them`, EXIT_USAGE);
  const mains = rows.filter((r) => r.parent_session === null || r.session_key === name);
  if (mains.length === 1) return mains[0]!;
  if (rows.length === 1) return rows[0]!;
  throw new SluiceError(`'${name}' matches ${rows.length} sessions (${rows.slice(0, 4).map((r) => r.session_key).join(", ")}${rows.length > 4 ? ", ..." : ""}); give more of the id`, EXIT_USAGE);
}

/** A session and its subagents (Claude Code's subagent transcripts carry the parent's session id). */
export function withSubagents(db: Database, s: SessionRow): SessionRow[] {
  if (s.parent_session !== null || s.agent_session_id === null) return [s];
  const subs = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE parent_session = ? AND agent = ? ORDER BY first_at, id`).all(s.agent_session_id, s.agent) as SessionRow[];
  return [s, ...subs.filter((x) => x.id !== s.id)];
}
