// The blocks report as text: a table that fits the terminal, gaps dimmed, and the active block's
// burn rate, projection and token limit under it.

import type { BlockJson, BlocksReport } from "../report/blocks";
import { count as n, usd } from "../runtime/format";
import { textOutput } from "./output";
import { renderTable, wrapWords, type Column } from "./table";
import { localTimeOf, zone } from "../runtime/zone";
import { styled } from "./output";

/** A model as a table shows it, as ccusage does: claude-sonnet-4-5-20250929 is sonnet-4-5 (--json keeps the id). */
export const shortModel = (m: string) => m.replace(/^claude-/, "").replace(/-\d{8}$/, "");

/** "2h 05m" from milliseconds; "20d 14h" from two days on (a gap between blocks can last months). */
export const hm = (ms: number) => {
  const m = Math.max(0, Math.floor(ms / 60_000));
  if (m >= 2880) return `${Math.floor(m / 1440)}d ${String(Math.floor((m % 1440) / 60)).padStart(2, "0")}h`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
};

/** A time as the day and minute in `tz`: "2025-06-14 23:00"; `short` gives the minute alone. */
export function localTime(tz: string): (iso: string, short?: boolean) => string {
  const z = zone(tz);
  return (iso, short) => {
    const t = localTimeOf(z, Date.parse(iso)); // "2025-06-14T23:00:00"
    return short ? t.slice(11, 16) : `${t.slice(0, 10)} ${t.slice(11, 16)}`;
  };
}

/** One row of the blocks table: a gap, a finished block (how long its calls ran) or the active one. */
function blockRow(b: BlockJson, limit: number | null, at: ReturnType<typeof localTime>, color: boolean): string[] {
  const style = (text: string, how: Parameters<typeof styled>[1]) => (color ? styled(text, how) : text);
  const start = at(b.startTime);
  const pct = limit ? [`${((b.totalTokens / limit) * 100).toFixed(1)}%`] : [];
  if (b.isGap) {
    const dim = (t: string) => style(t, "dim");
    return [dim(start), dim(`gap ${hm(Date.parse(b.endTime) - Date.parse(b.startTime))}`), "", "", "", "", "", "", "", ...pct.map(() => ""), ""];
  }
  // the active block's time left is in the lines under the table: the cell stays narrow
  const status = b.isActive ? style("ACTIVE", ["green", "bold"]) : hm(Date.parse(b.actualEndTime!) - Date.parse(b.startTime));
  const t = b.tokenCounts;
  return [
    start, status, b.models.map(shortModel).join("\n"), n(b.entries), n(t.inputTokens), n(t.outputTokens), n(t.cacheCreationInputTokens), n(t.cacheReadInputTokens),
    n(b.totalTokens), ...pct, usd(b.costUSD),
  ];
}

/** The active block's burn rate, projection and limit, under the table. */
function activeLines(b: BlockJson, r: BlocksReport, tokenLimitArg: string | undefined, at: ReturnType<typeof localTime>): string[] {
  const out = [`Active block: ${at(b.startTime)} to ${at(b.endTime, true)}, ${hm(Date.parse(b.endTime) - Date.now())} left`];
  if (!b.burnRate || !b.projection) return [...out, "Burn rate: not yet (one call so far)"];
  out.push(`Burn rate: ${n(b.burnRate.tokensPerMinute)} tokens/min, ${usd(b.burnRate.costPerHour)}/hour`);
  out.push(`Projected by ${at(b.endTime, true)}: ${n(b.projection.totalTokens)} tokens, ${usd(b.projection.totalCost)}`);
  const s = b.tokenLimitStatus;
  if (s) {
    const source = tokenLimitArg === "max" ? " (the largest earlier block)" : "";
    out.push(`Token limit ${n(s.limit)}${source}: ${n(b.totalTokens)} used, ${s.percentUsed.toFixed(1)}% projected: ${s.status}`);
  } else if (tokenLimitArg === "max" && r.tokenLimit === null) out.push("Token limit: no earlier block to take the largest of");
  return out;
}

/** The blocks as a table that fits the terminal, the active block's lines under it. */
export function blocksText(r: BlocksReport, tz: string, tokenLimitArg: string | undefined, activeOnly: boolean): string {
  if (!r.blocks.length) return activeOnly ? "No active block: no block's window is open now." : "No blocks: no dated calls in the index for these days.";
  const { width, color } = textOutput();
  const at = localTime(tz);
  const num = (h: string, optional = true): Column => ({ head: h, align: "right", optional });
  // the start, how long, the tokens against the limit and the cost always show; the rest give way, models last
  const columns: Column[] = [
    { head: "Block start", align: "left" }, { head: "Duration", align: "left" }, { head: "Models", align: "left", optional: true },
    num("Calls"), num("Input"), num("Output"), num("Cache write"), num("Cache read"), num("Tokens", false), ...(r.tokenLimit ? [num("% limit", false)] : []), num("Cost", false),
  ];
  const table = renderTable(columns, r.blocks.map((b) => blockRow(b, r.tokenLimit, at, color)), { width, color });
  const active = r.blocks.find((b) => b.isActive);
  const lines = active ? activeLines(active, r, tokenLimitArg, at).flatMap((l) => wrapWords(l, width)) : [];
  return [table, ...(lines.length ? ["", ...lines] : [])].join("\n");
}

