// `report session`: usage per session, as ccusage's session report, with each subagent folded into
// the session that started it (its calls are that session's cost). `--subagents` lists them apart,
// each named `<parent session>/agent-<id>` whatever the layout Claude Code wrote it in: the newer
// <session>/subagents/agent-<id>.jsonl and the earlier flat <project>/agent-<id>.jsonl alike.

import type { Database } from "bun:sqlite";
import { SluiceError, EXIT_FAILURE } from "../runtime/errors";
import { addTo, COST_SQL, emptyRow, loadTurnPrices, localDate, totalsOf, UsageReader, type ReportOptions, type ReportRow } from "./reports";
import { approximatePrices } from "./prices";
import { SESSION_COLUMNS, type SessionRow as SessionInfo } from "../archive/sessions";
import { byText } from "../runtime/words";

export interface SessionOptions extends ReportOptions {
  /** List subagents as rows of their own instead of folding them into their parent. */
  subagents?: boolean;
  /** One session (its id, a subagent's `<parent>/agent-<id>`, or a unique prefix of either), with its calls. */
  id?: string;
  /**
   * One session by its transcript or rollout (the status line's transcript_path), with its
   * subagents: the file names one session even where its id is not unique (a copied transcript).
   */
  file?: string;
  order?: "asc" | "desc";
  project?: string;
  agent?: string;
}


export interface SessionRow extends ReportRow {
  sessionId: string;
  agent: string;
  projectPath: string | null;
  firstActivity: string | null;
  lastActivity: string | null;
  /** A subagent's parent session (with --subagents). */
  parentSession?: string;
  agentType?: string | null;
  /** How many subagents were folded into this row. */
  subagents: number;
  /** Reasoning tokens, where the agent reports them apart (Codex): a part of outputTokens. */
  reasoningTokens: number;
}

/** A session's id as the reports show it: the agent's own id; a subagent's `<parent>/agent-<id>`. */
export function sessionName(s: Pick<SessionInfo, "session_key" | "agent_session_id" | "parent_session">): string {
  const own = s.session_key.slice(s.session_key.lastIndexOf("/") + 1);
  if (s.parent_session !== null && own.startsWith("agent-")) return `${s.parent_session}/${own}`;
  return s.agent_session_id ?? s.session_key.slice(s.session_key.indexOf(":") + 1);
}

/** The row each session's calls add to: a subagent's parent when it is in the index and not listed apart. */
function rowKeys(sessions: SessionInfo[], apart: boolean): Map<number, { name: string; top: SessionInfo }> {
  const byAgentId = new Map<string, SessionInfo>();
  for (const s of sessions) if (s.parent_session === null && s.agent_session_id) byAgentId.set(`${s.agent}:${s.agent_session_id}`, s);
  const out = new Map<number, { name: string; top: SessionInfo }>();
  for (const s of sessions) {
    const parent = s.parent_session === null || apart ? undefined : byAgentId.get(`${s.agent}:${s.parent_session}`);
    const top = parent ?? s;
    out.set(s.id, { name: sessionName(top), top });
  }
  return out;
}

/** The sessions `--id` names: exactly, or by a prefix only one session has; with their subagents. */
function chosenSessions(all: SessionInfo[], id: string, apart: boolean): SessionInfo[] {
  const names = all.map((s) => [sessionName(s), s] as const);
  let hit = names.filter(([n]) => n === id);
  if (!hit.length) hit = names.filter(([n]) => n.startsWith(id) && (apart || !n.includes("/")));
  const tops = new Set(hit.map(([n]) => n));
  if (tops.size > 1) throw new SluiceError(`--id ${id} matches ${tops.size} sessions (${[...tops].slice(0, 3).join(", ")}${tops.size > 3 ? ", ..." : ""}); give more of it`, EXIT_FAILURE);
  if (!hit.length) throw new SluiceError(`no session ${id} in the index; 'sluice report session' lists them`, EXIT_FAILURE);
  const [name, s] = hit[0]!;
  if (apart || s.parent_session !== null) return all.filter((x) => sessionName(x) === name);
  return all.filter((x) => x === s || (x.agent === s.agent && x.parent_session === s.agent_session_id));
}


/**
 * `session`: one row per session (ccusage's fields, plus agent and the subagents folded in), in
 * order of last activity. --since and --until choose sessions by the local day of their last call.
 */
export function sessionReport(db: Database, o: SessionOptions) {
  const one = o.file !== undefined || o.id !== undefined;
  let sessions = o.file !== undefined ? sessionOfFile(db, o.file) : o.id !== undefined ? sessionsOf(db, o.id, o.subagents ?? false) : (db.query(`SELECT ${SESSION_COLUMNS} FROM sessions`).all() as SessionInfo[]);
  if (o.agent) sessions = sessions.filter((s) => s.agent === o.agent);
  if (o.project) sessions = sessions.filter((s) => projectMatches(s.project, o.project!));
  const reader = new UsageReader(db, o.prices);
  const usage = Map.groupBy(reader.sessionUsage(one ? sessions.map((s) => s.id) : null), (b) => b.sessionId);
  const keys = rowKeys(sessions, o.subagents ?? false);
  const rows = new Map<string, SessionRow>();
  for (const s of sessions) {
    const { name, top } = keys.get(s.id)!;
    let row = rows.get(name);
    if (!row) rows.set(name, (row = newRow(name, top, o.subagents ?? false)));
    if (s !== top) row.subagents++;
    for (const b of usage.get(s.id) ?? []) {
      addTo(row, b);
      row.reasoningTokens += b.reasoning;
      if (b.firstAt !== null && (row.firstActivity === null || b.firstAt < row.firstActivity)) row.firstActivity = b.firstAt;
      if (b.lastAt !== null && (row.lastActivity === null || b.lastAt > row.lastActivity)) row.lastActivity = b.lastAt;
    }
  }
  const day = localDate(o.tz);
  const list = [...rows.values()].filter((r) => {
    if (r.lastActivity === null && r.totalTokens === 0) return false; // a session with no calls: nothing to report
    const last = day(r.lastActivity);
    return !last || ((!o.since || last >= o.since) && (!o.until || last <= o.until));
  });
  const sign = o.order === "desc" ? -1 : 1;
  list.sort((a, b) => sign * byText(String(a.lastActivity), String(b.lastActivity)) || byText(a.sessionId, b.sessionId));
  const models = new Set(list.flatMap((r) => r.modelsUsed));
  return { sessions: list, totals: totalsOf(list), unpricedModels: reader.unpriced().filter((m) => models.has(m)), approximatePrices: approximatePrices(models, o.prices) };
}

function newRow(name: string, s: SessionInfo, apart: boolean): SessionRow {
  const row: SessionRow = { sessionId: name, agent: s.agent, projectPath: s.project, firstActivity: null, lastActivity: null, subagents: 0, reasoningTokens: 0, ...emptyRow() };
  if (apart && s.parent_session !== null) Object.assign(row, { parentSession: s.parent_session, agentType: s.agent_type });
  return row;
}

/** --project: the working directory itself, or its last part ("sluice" for /home/me/src/sluice). */
export function projectMatches(project: string | null, wanted: string): boolean {
  if (project === null) return false;
  const p = project.replace(/\/+$/, "");
  return p === wanted.replace(/\/+$/, "") || p.slice(p.lastIndexOf("/") + 1) === wanted;
}

/**
 * The sessions `--id` names, with their subagents: by the index's keys when the id is a whole
 * session id (what the status line gives, in a millisecond), else by a look at every session.
 */
function sessionsOf(db: Database, id: string, apart: boolean): SessionInfo[] {
  if (!apart && !id.includes("/")) {
    const own = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE agent_session_id = ?1 AND parent_session IS NULL`).all(id) as SessionInfo[];
    // every file that carries the id (a copied or resumed transcript), as the whole report folds them
    if (own.length) {
      const subs = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE parent_session = ?1 AND agent = ?2`);
      return [...own, ...[...new Set(own.map((s) => s.agent))].flatMap((agent) => subs.all(id, agent) as SessionInfo[])];
    }
  }
  return chosenSessions(db.query(`SELECT ${SESSION_COLUMNS} FROM sessions`).all() as SessionInfo[], id, apart);
}

/**
 * The session a transcript or rollout holds, with its subagents: those of its id in its own
 * project directory (beside it, or under its <session>/subagents/), not a copy's elsewhere. None
 * when the file is not indexed.
 */
function sessionOfFile(db: Database, path: string): SessionInfo[] {
  const own = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = (SELECT session_id FROM agent_files WHERE path = ?1 AND session_id IS NOT NULL ORDER BY id DESC LIMIT 1)`).get(path) as SessionInfo | null;
  if (!own) return [];
  if (own.parent_session !== null || own.agent_session_id === null) return [own];
  const dir = `${path.slice(0, path.lastIndexOf("/"))}/`;
  const subs = db.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE parent_session = ?1 AND agent = ?2 AND substr(file, 1, length(?3)) = ?3`).all(own.agent_session_id, own.agent, dir) as SessionInfo[];
  return [own, ...subs];
}

function modelsOf(db: Database, sessions: SessionInfo[]): string[] {
  const q = db.prepare("SELECT DISTINCT model FROM turns WHERE session_id = ? AND model IS NOT NULL");
  return [...new Set(sessions.flatMap((s) => (q.all(s.id) as Array<{ model: string }>).map((m) => m.model)))];
}

/** ccusage's `session --id` entries: each call of the chosen session, in time order, with its cost. */
export function sessionEntries(db: Database, o: SessionOptions): Array<Record<string, unknown>> {
  const sessions = sessionsOf(db, o.id!, o.subagents ?? false);
  loadTurnPrices(db, o.prices, modelsOf(db, sessions));
  const q = db.prepare(`SELECT t.at AS timestamp, coalesce(t.model, 'unknown') AS model, t.input_tokens AS inputTokens, t.output_tokens AS outputTokens,
      t.cache_write_5m_tokens + t.cache_write_1h_tokens AS cacheCreationTokens, t.cache_read_tokens AS cacheReadTokens, ${COST_SQL} AS costUSD
    FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model WHERE t.session_id = ? GROUP BY t.id`);
  const out: Array<Record<string, unknown>> = sessions.flatMap((s) => (q.all(s.id) as Array<Record<string, unknown>>).map((e) => ({ ...e, sessionId: sessionName(s) })));
  return out.sort((a, b) => byText(String(a["timestamp"]), String(b["timestamp"])));
}

/** The sessions --project and --agent choose (null: no filter, every session). */
export function filteredSessionIds(db: Database, o: { project?: string; agent?: string }): number[] | null {
  if (!o.project && !o.agent) return null;
  const all = db.query("SELECT id, agent, project FROM sessions").all() as Array<{ id: number; agent: string; project: string | null }>;
  return all.filter((s) => (!o.agent || s.agent === o.agent) && (!o.project || projectMatches(s.project, o.project))).map((s) => s.id);
}

/** The projects of the index, each with its sessions: `--instances` reports each apart. */
export function projectSessions(db: Database, o: { project?: string; agent?: string }): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of db.query("SELECT id, agent, project FROM sessions ORDER BY project").all() as Array<{ id: number; agent: string; project: string | null }>) {
    if ((o.agent && s.agent !== o.agent) || (o.project && !projectMatches(s.project, o.project))) continue;
    const name = s.project ?? "(unknown)";
    let ids = out.get(name);
    if (!ids) out.set(name, (ids = []));
    ids.push(s.id);
  }
  return out;
}
