// `sluice search`: the messages' full-text index (FTS5, unicode61), ranked by bm25 with the newer
// message first among equals, filtered by project, agent, session, role and time. A query FTS5
// cannot read is a one-line error that says how to quote it.

import type { Database } from "bun:sqlite";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";

export interface SearchFilters {
  project?: string;
  agent?: string;
  /** sessions.id values (the named session and its subagents) */
  sessions?: number[];
  role?: string;
  /** canonical UTC bounds: at >= since, at < until */
  since?: string;
  until?: string;
  limit: number;
}

export interface SearchHit {
  session: string;
  agent: string;
  project: string | null;
  at: string | null;
  role: string;
  kind: string;
  model: string | null;
  tool: string | null;
  /** The match in its context; the matched words between \u0001 and \u0002. */
  snippet: string;
  rank: number;
  /** The message's row id: only when asked for (the dashboard links to it; the CLI prints no ids). */
  message?: number;
}

/** Marks around a matched word in a snippet: replaced by colour, or removed, for display. */
export const MATCH_START = "\u0001";
export const MATCH_END = "\u0002";

/** Longest query read (a pasted error message is long; FTS5 reads far longer ones). */
const MAX_QUERY = 20_000;

export function search(db: Database, query: string, f: SearchFilters, withIds = false): SearchHit[] {
  const q = query.replace(/\0/g, " ").trim();
  if (!q) throw new SluiceError("the search query is empty; e.g. sluice search 'race condition'", EXIT_USAGE);
  if (q.length > MAX_QUERY) throw new SluiceError(`the search query is ${q.length} characters; at most ${MAX_QUERY}`, EXIT_USAGE);
  const where = ["messages_fts MATCH ?1"];
  const params: Array<string | number> = [q];
  const add = (sql: string, v: string | number) => {
    params.push(v);
    where.push(sql.replace("?", `?${params.length}`));
  };
  if (f.project) add("s.project LIKE '%' || ? || '%'", f.project);
  if (f.agent) add("s.agent = ?", f.agent);
  if (f.sessions) add("m.session_id IN (SELECT value FROM json_each(?))", JSON.stringify(f.sessions));
  if (f.role) add("m.role = ?", f.role);
  if (f.since) add("m.at >= ?", f.since);
  if (f.until) add("m.at < ?", f.until);
  params.push(f.limit);
  // The best ids first, then snippets for those alone: in one query SQLite makes a snippet for
  // every match before it sorts (a common word matches tens of thousands of messages).
  const best = `
    SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id
    WHERE ${where.join(" AND ")} ORDER BY messages_fts.rank, m.at DESC LIMIT ?${params.length}`;
  const sql = `
    SELECT s.session_key AS session, s.agent, s.project, m.at, m.role, m.kind, m.model, m.tool,
      snippet(messages_fts, 0, '${MATCH_START}', '${MATCH_END}', '…', 16) AS snippet, messages_fts.rank AS rank${withIds ? ", m.id AS message" : ""}
    FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id
    WHERE messages_fts MATCH ?1 AND messages_fts.rowid IN (${best})
    ORDER BY rank, m.at DESC`;
  try {
    return db.query(sql).all(...params) as SearchHit[];
  } catch (err) {
    const msg = (err as Error).message;
    if (/fts5|syntax error|unterminated|no such column|unknown special query/i.test(msg)) {
      throw new SluiceError(`the search query is not one FTS5 can read (${msg.replace(/^fts5: /, "")}); put words in double quotes to search for them as written, e.g. sluice search '"NEAR("' or '"foo*bar"'`, EXIT_USAGE);
    }
    throw err;
  }
}
