// `sluice show`: one session as people read it: a header (project, times, models, tokens and cost,
// from the same SQL as the reports), then its messages in order, its subagents' after it, each
// marked. The text is the archive's messages table: credentials masked, a long tool output's head.

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

export function showSession(db: Database, s: SessionRow, prices: Record<string, Price>): ShownSession {
  const all = withSubagents(db, s);
  const usage = usageOfSessions(db, all.map((x) => x.id), prices);
  const models = usage.models.map((b) => ({ model: b.model, calls: b.calls, inputTokens: b.i, outputTokens: b.o, cacheCreationTokens: b.w, cacheReadTokens: b.r, cost: b.cost }));
  const sum = (k: keyof (typeof models)[number]) => models.reduce((a, m) => a + (m[k] as number), 0);
  const messagesOf = db.query(`SELECT at, kind, role, model, tool, text, length FROM messages WHERE session_id = ? ORDER BY file_id, byte_offset, part`);
  const info = db.query("SELECT git_branch, compactions FROM sessions WHERE id = ?").get(s.id) as { git_branch: string | null; compactions: number };
  const messages: ShownMessage[] = [];
  const subagents: ShownSession["subagents"] = [];
  for (const x of all) {
    const rows = messagesOf.all(x.id) as Array<Omit<ShownMessage, "session">>;
    if (x !== s) subagents.push({ session: x.session_key, agentType: x.agent_type, messages: rows.length });
    for (const r of rows) messages.push({ session: x.session_key, ...r });
  }
  return {
    session: s.session_key, agent: s.agent, project: s.project, firstAt: s.first_at, lastAt: s.last_at, gitBranch: info.git_branch, subagents,
    compactions: info.compactions, models,
    totals: { inputTokens: sum("inputTokens"), outputTokens: sum("outputTokens"), cacheCreationTokens: sum("cacheCreationTokens"), cacheReadTokens: sum("cacheReadTokens"), totalCost: sum("cost") },
    unpricedModels: usage.unpricedModels, messages,
  };
}
