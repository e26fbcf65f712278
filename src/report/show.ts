// `sluice show`: one session as people read it: a header (project, times, models, tokens and cost,
// from the same SQL as the reports), then its messages in order, its subagents' after it, each
// marked. The text is the archive's messages table: credentials masked, a long tool output's head.
// The dashboard reads the same header and a window of the same messages (a session can hold
// 40,000 of them).

import type { Database } from "bun:sqlite";
import { withSubagents, type SessionRow } from "../archive/sessions";
import type { Price } from "./prices";
import { usageOfSessions } from "./reports";

export interface ShownMessage {
  session: string;
  at: string | null;
  kind: string;
  role: string;
  model: string | null;
  tool: string | null;
  text: string;
  /** Characters of the whole text (more than `text` holds when only its head was kept). */
  length: number;
}

export interface ShownSession {
  session: string;
  agent: string;
  project: string | null;
  firstAt: string | null;
  lastAt: string | null;
  gitBranch: string | null;
  subagents: Array<{ session: string; agentType: string | null; messages: number }>;
  compactions: number;
  models: Array<{ model: string; calls: number; inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number; cost: number }>;
  totals: { inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number; totalCost: number };
  unpricedModels: string[];
  messages: ShownMessage[];
}

/** A message with its row id and the id that pairs a tool call with its result (the dashboard's anchors). */
export type WindowMessage = ShownMessage & { id: number; toolUseId: string | null };

/** The sessions shown (the session, then its subagents), each with how many messages it has. */
export interface ShownParts {
  sessions: Array<{ row: SessionRow; messages: number }>;
  total: number;
}

export function showSession(db: Database, s: SessionRow, prices: Record<string, Price>): ShownSession {
  const parts = showParts(db, s);
  return { ...showHeader(db, s, parts, prices), messages: messageWindow(db, parts, 0, parts.total).map(({ id, toolUseId, ...m }) => m) };
}

export function showParts(db: Database, s: SessionRow): ShownParts {
  const count = db.query("SELECT count(*) AS n FROM messages WHERE session_id = ?");
  const sessions = withSubagents(db, s).map((row) => ({ row, messages: (count.get(row.id) as { n: number }).n }));
  return { sessions, total: sessions.reduce((a, x) => a + x.messages, 0) };
}

/** Everything `show --json` prints but the messages. */
export function showHeader(db: Database, s: SessionRow, parts: ShownParts, prices: Record<string, Price>): Omit<ShownSession, "messages"> {
  const usage = usageOfSessions(db, parts.sessions.map((x) => x.row.id), prices);
  const models = usage.models.map((b) => ({ model: b.model, calls: b.calls, inputTokens: b.i, outputTokens: b.o, cacheCreationTokens: b.w, cacheReadTokens: b.r, cost: b.cost }));
  const sum = (k: keyof (typeof models)[number]) => models.reduce((a, m) => a + (m[k] as number), 0);
  const info = db.query("SELECT git_branch, compactions FROM sessions WHERE id = ?").get(s.id) as { git_branch: string | null; compactions: number };
  const subagents = parts.sessions.slice(1).map((x) => ({ session: x.row.session_key, agentType: x.row.agent_type, messages: x.messages }));
  return {
    session: s.session_key, agent: s.agent, project: s.project, firstAt: s.first_at, lastAt: s.last_at, gitBranch: info.git_branch, subagents,
    compactions: info.compactions, models,
    totals: { inputTokens: sum("inputTokens"), outputTokens: sum("outputTokens"), cacheCreationTokens: sum("cacheCreationTokens"), cacheReadTokens: sum("cacheReadTokens"), totalCost: sum("cost") },
    unpricedModels: usage.unpricedModels,
  };
}

/** Messages [offset, offset + limit) of the session and its subagents, in show's order. */
export function messageWindow(db: Database, parts: ShownParts, offset: number, limit: number): WindowMessage[] {
  const q = db.query(`SELECT id, at, kind, role, model, tool, text, length, tool_use_id AS toolUseId FROM messages WHERE session_id = ?
    ORDER BY file_id, byte_offset, part LIMIT ? OFFSET ?`);
  const out: WindowMessage[] = [];
  let start = 0;
  for (const { row, messages } of parts.sessions) {
    const from = Math.max(offset - start, 0), to = Math.min(offset + limit - start, messages);
    if (from < to) for (const r of q.all(row.id, to - from, from) as Array<Omit<WindowMessage, "session">>) out.push({ session: row.session_key, ...r });
    start += messages;
  }
  return out;
}

/** Where a message is in show's order, or null when it is not one of these sessions'. */
export function messagePosition(db: Database, parts: ShownParts, messageId: number): number | null {
  const m = db.query("SELECT session_id, file_id, byte_offset, part FROM messages WHERE id = ?").get(messageId) as { session_id: number; file_id: number; byte_offset: number; part: number } | null;
  if (!m) return null;
  let start = 0;
  for (const { row, messages } of parts.sessions) {
    if (row.id === m.session_id) {
      const before = db.query("SELECT count(*) AS n FROM messages WHERE session_id = ?1 AND (file_id, byte_offset, part) < (?2, ?3, ?4)").get(row.id, m.file_id, m.byte_offset, m.part) as { n: number };
      return start + before.n;
    }
    start += messages;
  }
  return null;
}
