// `sluice search`: the messages' full-text index (FTS5, unicode61), ranked by bm25 with the newer
// message first among equals, filtered by project, agent, session, role and time. A query FTS5
// cannot read is a one-line error that says how to quote it.
//
// A common word matches tens of thousands of messages, and bm25 is computed for every row it ranks:
// ranking them all took 60-300 ms (docs/benchmarks.md). So at most RANK_CAP matches are ranked: when
// more match, the RANK_CAP most recently archived ones (the highest message ids: the index appends
// in the order it reads), and the result says so (SearchResult.ranked).

import type { Database } from "bun:sqlite";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { byText } from "../runtime/words";

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

/** A snippet without its match marks. */
export const plain = (s: string) => s.replaceAll(MATCH_START, "").replaceAll(MATCH_END, "");

/** What --json prints (and the MCP tool answers): `note` only when the matches were too many to rank all. */
export function searchJson(query: string, found: SearchResult) {
  const results = found.hits.map((h) => ({ ...h, snippet: plain(h.snippet) }));
  return found.ranked ? { query, results, ranked: found.ranked, note: cutNote(found.ranked) } : { query, results };
}

export const cutNote = (n: number) => `more than ${n} messages match: the ${n} most recently archived were ranked; add words or a filter (--since, --project, --role) to narrow them`;

/** Longest query read (a pasted error message is long; FTS5 reads far longer ones). */
const MAX_QUERY = 20_000;

/** Matches ranked at most: past it, the most recently archived ones (bm25 costs about 1 µs a row, plus its pages read). */
export const RANK_CAP = 2000;

export interface SearchResult {
  hits: SearchHit[];
  /** Set when more than RANK_CAP messages matched: only the RANK_CAP most recently archived were ranked. */
  ranked?: number;
}

/** The hits alone (the dashboard, which says nothing of the cut-off). */
export function search(db: Database, query: string, f: SearchFilters, withIds = false): SearchHit[] {
  return searchRanked(db, query, f, withIds).hits;
}

export function searchRanked(db: Database, query: string, f: SearchFilters, withIds = false): SearchResult {
  const q = query.replace(/\0/g, " ").trim();
  if (!q) throw new SluiceError("the search query is empty; e.g. sluice search 'race condition'", EXIT_USAGE);
  if (q.length > MAX_QUERY) throw new SluiceError(`the search query is ${q.length} characters; at most ${MAX_QUERY}`, EXIT_USAGE);
  try {
    return ranked(db, q, f, withIds);
  } catch (err) {
    const msg = (err as Error).message;
    if (/fts5|syntax error|unterminated|no such column|unknown special query/i.test(msg)) {
      throw new SluiceError(`the search query is not one FTS5 can read (${msg.replace(/^fts5: /, "")}); put words in double quotes to search for them as written, e.g. sluice search '"NEAR("' or '"foo*bar"'`, EXIT_USAGE);
    }
    throw err;
  }
}

/** The filters as SQL on messages m and sessions s, and their parameters (numbered from ?2). */
function filterSql(f: SearchFilters): { where: string; joins: string; params: Array<string | number> } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const add = (sql: string, v: string | number) => {
    params.push(v);
    where.push(sql.replace("?", `?${params.length + 1}`));
  };
  if (f.project) add("s.project LIKE '%' || ? || '%'", f.project);
  if (f.agent) add("s.agent = ?", f.agent);
  if (f.sessions) add("m.session_id IN (SELECT value FROM json_each(?))", JSON.stringify(f.sessions));
  if (f.role) add("m.role = ?", f.role);
  if (f.since) add("m.at >= ?", f.since);
  if (f.until) add("m.at < ?", f.until);
  // Without a filter the messages are not read at all until the final rows: reading a message's page
  // for each match was most of a common word's time. CROSS JOIN: the index drives, in rowid order.
  const joins = !where.length ? "" : `CROSS JOIN messages m ON m.id = messages_fts.rowid${f.project || f.agent ? " CROSS JOIN sessions s ON s.id = m.session_id" : ""}`;
  return { where: where.map((w) => ` AND ${w}`).join(""), joins, params };
}

/**
 * Three steps, each bounded: the newest RANK_CAP + 1 matches (FTS5 walks its lists backwards from
 * the highest rowid), bm25 over the matches from the oldest of those on, then the final rows' messages
 * and snippets (a snippet for every match before the sort was the first version's cost).
 */
function ranked(db: Database, q: string, f: SearchFilters, withIds: boolean): SearchResult {
  const { where, joins, params } = filterSql(f);
  const from = `FROM messages_fts ${joins} WHERE messages_fts MATCH ?1${where}`;
  const newest = db.query(`SELECT messages_fts.rowid AS id ${from} ORDER BY messages_fts.rowid DESC LIMIT ${RANK_CAP + 1}`).all(q, ...params) as Array<{ id: number }>;
  if (!newest.length) return { hits: [] };
  const cut = newest.length > RANK_CAP;
  const floor = cut ? newest[RANK_CAP - 1]!.id : newest[newest.length - 1]!.id;
  // bm25() rather than the rank column: ORDER BY rank makes FTS5 sort in a statement of its own,
  // which took twice the time here. Equal ranks past the limit are kept for the tie-break on time.
  const scored = db.query(`SELECT messages_fts.rowid AS id, bm25(messages_fts) AS rank ${from} AND messages_fts.rowid >= ${floor} ORDER BY rank`);
  const best: Array<{ id: number; rank: number }> = [];
  for (const r of scored.iterate(q, ...params) as IterableIterator<{ id: number; rank: number }>) {
    if (best.length >= f.limit && r.rank !== best[best.length - 1]!.rank) break;
    best.push({ id: r.id, rank: r.rank });
  }
  const hits = finalRows(db, q, breakTies(db, best, f.limit), withIds);
  return cut ? { hits, ranked: RANK_CAP } : { hits };
}

/**
 * The first `limit` of rows sorted by rank, the newer message first among equal ranks: the time of
 * the rows tied at the cut only is read (identical texts rank equal: a repeated prompt, a tool's
 * same output).
 */
function breakTies(db: Database, best: Array<{ id: number; rank: number }>, limit: number) {
  if (best.length <= limit) return best;
  const last = best[limit - 1]!.rank;
  const sure = best.filter((b) => b.rank < last);
  const tied = best.filter((b) => b.rank === last);
  const at = new Map((db.query("SELECT id, at FROM messages WHERE id IN (SELECT value FROM json_each(?1))").all(JSON.stringify(tied.map((b) => b.id))) as Array<{ id: number; at: string | null }>).map((r) => [r.id, r.at ?? ""]));
  tied.sort((a, b) => byText(at.get(b.id)!, at.get(a.id)!));
  return [...sure, ...tied.slice(0, limit - sure.length)];
}

/** The best rows' messages and snippets, by rank and then the newer first. */
function finalRows(db: Database, q: string, best: Array<{ id: number; rank: number }>, withIds: boolean): SearchHit[] {
  const rank = new Map(best.map((b) => [b.id, b.rank]));
  const rows = db.query(`
    SELECT m.id AS message, s.session_key AS session, s.agent, s.project, m.at, m.role, m.kind, m.model, m.tool,
      snippet(messages_fts, 0, '${MATCH_START}', '${MATCH_END}', '…', 16) AS snippet
    FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id
    WHERE messages_fts MATCH ?1 AND messages_fts.rowid IN (SELECT value FROM json_each(?2))`).all(q, JSON.stringify(best.map((b) => b.id))) as Array<SearchHit & { message: number }>;
  const hits = rows.map((r) => {
    const { message, ...hit } = r;
    return withIds ? { ...hit, rank: rank.get(message)!, message } : { ...hit, rank: rank.get(message)! };
  });
  return hits.sort((a, b) => a.rank - b.rank || byText(b.at ?? "", a.at ?? ""));
}
