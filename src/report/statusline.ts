// What `sluice statusline` shows: Claude Code's status JSON (the model, the context window, the
// official 5-hour and 7-day use when it gives them) beside the index's figures (this session's
// cost with its subagents, today's, the active 5-hour block's cost, time left and burn rate).
// The figures come from the same code as the reports, so the line and `report` never disagree.

import type { Database } from "bun:sqlite";
import { blocksReport } from "./blocks";
import { costSince, startOfDay, startOfMonth } from "./budget";
import type { Price } from "./prices";
import { UsageReader } from "./reports";
import { sessionReport } from "./sessions";
import { count } from "../runtime/format";

/** The fields of Claude Code's status JSON that the line reads; every one may be missing. */
export interface StatusInput {
  session_id?: string;
  transcript_path?: string;
  model?: { id?: string; display_name?: string };
  cost?: { total_cost_usd?: number };
  context_window?: {
    context_window_size?: number;
    used_percentage?: number;
    current_usage?: { input_tokens?: number; cache_creation_input_tokens?: number; cache_read_input_tokens?: number } | null;
  };
  rate_limits?: { five_hour?: RateLimit; seven_day?: RateLimit };
}

interface RateLimit {
  used_percentage?: number;
  /** Epoch seconds (Claude Code), or an ISO time. */
  resets_at?: number | string;
}

export interface StatusFigures {
  model: string | null;
  /** From the index, with the session's subagents; Claude Code's own figure when the index has no such session. */
  sessionCost: number | null;
  sessionCostSource: "index" | "claude-code" | null;
  todayCost: number | null;
  /** This month's cost, when a monthly budget asks for it. */
  monthCost: number | null;
  block: { cost: number; endTime: string; remainingMinutes: number; costPerHour: number | null; tokensPerMinute: number | null } | null;
  contextTokens: number | null;
  contextPercent: number | null;
  fiveHour: { percent: number; resetsAt: string | null } | null;
  sevenDay: { percent: number; resetsAt: string | null } | null;
}

export interface StatusOptions {
  prices: Record<string, Price>;
  tz: string;
  now: number;
  /** Read this month's cost too (a monthly budget is set). */
  month?: boolean;
}

/** The figures the JSON alone gives: what the line shows when there is no index to read. */
export function inputFigures(input: StatusInput): StatusFigures {
  const cw = input.context_window;
  const u = cw?.current_usage;
  const tokens = u ? (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) : null;
  const size = cw?.context_window_size;
  const percent = typeof cw?.used_percentage === "number" ? cw.used_percentage : tokens !== null && size ? (tokens / size) * 100 : null;
  const own = input.cost?.total_cost_usd;
  return {
    model: input.model?.display_name ?? input.model?.id ?? null,
    sessionCost: typeof own === "number" ? own : null, sessionCostSource: typeof own === "number" ? "claude-code" : null,
    todayCost: null, monthCost: null, block: null, contextTokens: tokens, contextPercent: percent,
    fiveHour: rateLimit(input.rate_limits?.five_hour), sevenDay: rateLimit(input.rate_limits?.seven_day),
  };
}

function rateLimit(r: RateLimit | undefined): { percent: number; resetsAt: string | null } | null {
  if (!r || typeof r.used_percentage !== "number") return null;
  const at = typeof r.resets_at === "number" ? r.resets_at * 1000 : typeof r.resets_at === "string" ? Date.parse(r.resets_at) : NaN;
  return { percent: r.used_percentage, resetsAt: Number.isFinite(at) ? new Date(at).toISOString() : null };
}

/** The JSON's figures with the index's laid over them. */
export function statusFigures(db: Database, input: StatusInput, o: StatusOptions): StatusFigures {
  const f = inputFigures(input);
  if (input.session_id || input.transcript_path) {
    try {
      // by the transcript when it is indexed: it names one session, where an id may be carried by copies
      const byFile = input.transcript_path ? sessionReport(db, { prices: o.prices, tz: o.tz, file: input.transcript_path }) : null;
      const r = byFile?.sessions.length || !input.session_id ? byFile! : sessionReport(db, { prices: o.prices, tz: o.tz, id: input.session_id });
      if (r.sessions.length) Object.assign(f, { sessionCost: r.sessions[0]!.totalCost, sessionCostSource: "index" });
    } catch {
      // not in the index (yet): Claude Code's own figure stays
    }
  }
  const reader = new UsageReader(db, o.prices);
  f.todayCost = costSince(reader, startOfDay(o.now, o.tz), o.now);
  if (o.month) f.monthCost = costSince(reader, startOfMonth(o.now, o.tz), o.now);
  const active = blocksReport(db, { prices: o.prices, tz: o.tz, sessionHours: 5, now: o.now, active: true }).blocks[0];
  if (active) {
    f.block = {
      cost: active.costUSD, endTime: active.endTime, remainingMinutes: Math.max(0, Math.round((Date.parse(active.endTime) - o.now) / 60_000)),
      costPerHour: active.burnRate?.costPerHour ?? null, tokensPerMinute: active.burnRate?.tokensPerMinute ?? null,
    };
  }
  return f;
}

export interface LineOptions {
  color: boolean;
  /** Context use below this percentage is green, below `contextHigh` yellow, else red. */
  contextLow: number;
  contextHigh: number;
  /** Budgets in dollars: today's and this month's cost are shown against them, red past them. */
  dailyBudget?: number;
  monthlyBudget?: number;
  /** Why the index's figures are missing, said at the end of the line. */
  note?: string;
}

const money = (x: number) => (x > 0 && x < 0.01 ? "<$0.01" : `$${x.toFixed(2)}`);
const left = (min: number) => (min >= 60 ? `${Math.floor(min / 60)}h ${String(min % 60).padStart(2, "0")}m` : `${min}m`);

/** The one line, ccusage's layout with the official limits after it. */
export function renderStatusLine(f: StatusFigures, o: LineOptions): string {
  const paint = (code: number, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const level = (pct: number) => (pct < o.contextLow ? 32 : pct < o.contextHigh ? 33 : 31);
  const parts: string[] = [];
  if (f.model) parts.push(`🤖 ${f.model}`);
  const costs: string[] = [];
  if (f.sessionCost !== null) costs.push(`${money(f.sessionCost)} session`);
  if (f.todayCost !== null) {
    const over = o.dailyBudget !== undefined && f.todayCost > o.dailyBudget;
    const today = `${money(f.todayCost)}${o.dailyBudget !== undefined ? ` of ${money(o.dailyBudget)}` : ""} today`;
    costs.push(over ? paint(31, today) : today);
  }
  if (f.monthCost !== null && o.monthlyBudget !== undefined) {
    const month = `${money(f.monthCost)} of ${money(o.monthlyBudget)} this month`;
    costs.push(f.monthCost > o.monthlyBudget ? paint(31, month) : month);
  }
  if (f.block) costs.push(`${money(f.block.cost)} block (${left(f.block.remainingMinutes)} left)`);
  if (costs.length) parts.push(`💰 ${costs.join(" / ")}`);
  if (f.block?.costPerHour != null) parts.push(`🔥 ${money(f.block.costPerHour)}/hr`);
  if (f.contextPercent !== null) {
    const tokens = f.contextTokens !== null ? `${count(f.contextTokens)} ` : "";
    parts.push(`🧠 ${tokens}(${paint(level(f.contextPercent), `${Math.round(f.contextPercent)}%`)})`);
  }
  const limits = [["5h", f.fiveHour], ["7d", f.sevenDay]] as const;
  const shown = limits.filter(([, l]) => l !== null).map(([name, l]) => `${name} ${paint(level(l!.percent), `${Math.round(l!.percent)}%`)}`);
  if (shown.length) parts.push(`⏳ ${shown.join(" · ")}`);
  if (o.note) parts.push(o.note);
  return parts.join(" | ");
}
