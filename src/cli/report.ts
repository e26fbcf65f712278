import { defineCommand } from "citty";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { openDatabase } from "../db/open";
import { loadPrices, PRICES_DATE } from "../report/prices";
import { modelsReport, periodReport, sessionReport, type ReportOptions } from "../report/reports";
import { blocksReport, type BlockJson, type BlocksReport } from "../report/blocks";
import { count as n, usd } from "../runtime/format";
import { dateRange, dbArg, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { renderTable, wrapWords, type Column } from "./table";
import { styleText } from "node:util";
import type { Database } from "bun:sqlite";
import { didYouMean } from "./strict";

const KINDS = ["daily", "weekly", "monthly", "session", "models", "blocks"] as const;
type Kind = (typeof KINDS)[number];
type TableKind = Exclude<Kind, "blocks">;
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
/** Flags that only some reports take: given to another, they are refused rather than ignored. */
const ONLY_FOR: Record<string, Kind> = { "start-of-week": "weekly", active: "blocks", recent: "blocks", "token-limit": "blocks", "session-length": "blocks" };

function tzFlag(v: string | undefined): string {
  const tz = v ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: tz });
  } catch {
    throw new SluiceError(`--tz ${tz} is not a time zone; use an IANA name such as Europe/Berlin or UTC`, EXIT_USAGE);
  }
  return tz;
}

/** A row's token counts and cost, as the table shows them. */
const sums = (x: any) => [n(x.inputTokens), n(x.outputTokens), n(x.cacheCreationTokens), n(x.cacheReadTokens), n(x.totalTokens), usd(x.totalCost)];

/** A model as a table shows it, as ccusage does: claude-sonnet-4-5-20250929 is sonnet-4-5 (--json keeps the id). */
const shortModel = (m: string) => m.replace(/^claude-/, "").replace(/-\d{8}$/, "");

const FIRST: Record<TableKind, [key: string, field: string, head: string]> = {
  daily: ["daily", "date", "Date"], weekly: ["weekly", "week", "Week"], monthly: ["monthly", "month", "Month"], session: ["sessions", "sessionId", "Session"], models: ["models", "modelName", "Model"],
};

/** The report as a table that fits the terminal: the cache columns and the total go first when it is narrow. */
function reportTable(kind: TableKind, r: any): string {
  const [key, field, head] = FIRST[kind];
  const second = (x: any) => (kind === "models" ? n(x.calls) : (x.modelsUsed as string[]).map(shortModel).join("\n"));
  const rows: string[][] = (r[key] as any[]).map((x) => [String(x[field]), second(x), ...sums(x)]);
  if (r.undated) rows.push(["undated", second(r.undated), ...sums(r.undated)]);
  rows.push(["Total", "", ...sums(r.totals)]);
  const num = (h: string, optional = false): Column => ({ head: h, align: "right", optional });
  const columns: Column[] = [
    { head, align: "left" }, kind === "models" ? num("Calls") : { head: "Models", align: "left" },
    num("Input"), num("Output"), num("Cache write", true), num("Cache read", true), num("Total tokens", true), num("Cost"),
  ];
  return renderTable(columns, rows, { ...textOutput(), footerRows: 1 });
}

/** "2h 05m" from milliseconds; "20d 14h" from two days on (a gap between blocks can last months). */
const hm = (ms: number) => {
  const m = Math.max(0, Math.floor(ms / 60_000));
  if (m >= 2880) return `${Math.floor(m / 1440)}d ${String(Math.floor((m % 1440) / 60)).padStart(2, "0")}h`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
};

/** A time as the day and minute in `tz`: "2025-06-14 23:00"; `short` gives the minute alone. */
function localTime(tz: string): (iso: string, short?: boolean) => string {
  const f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return (iso, short) => {
    const p = Object.fromEntries(f.formatToParts(Date.parse(iso)).map((x) => [x.type, x.value]));
    return short ? `${p.hour}:${p.minute}` : `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  };
}

/** One row of the blocks table: a gap, a finished block (how long its calls ran) or the active one. */
function blockRow(b: BlockJson, limit: number | null, at: ReturnType<typeof localTime>, color: boolean): string[] {
  const style = (text: string, how: Parameters<typeof styleText>[0]) => (color ? styleText(how, text, { validateStream: false }) : text);
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
function blocksText(r: BlocksReport, tz: string, tokenLimitArg: string | undefined, activeOnly: boolean): string {
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

/** --token-limit: a whole number of tokens, or max. */
function tokenLimitFlag(v: string | undefined): number | "max" | undefined {
  if (v === undefined || v === "max") return v;
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 1) throw new SluiceError(`--token-limit ${v} is not a number of tokens; use a whole number such as 500000, or max (the largest earlier block)`, EXIT_USAGE);
  return x;
}

/** --session-length in hours: at least 1, so a block's first call always lies inside its window. */
function sessionLengthFlag(v: string | undefined): number {
  if (v === undefined) return 5;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 1 || x > 24 * 366) throw new SluiceError(`--session-length ${v} is not a number of hours from 1 up (a block must hold the hour its first call is in); Claude's blocks are 5`, EXIT_USAGE);
  return x;
}

/** The report the flags ask for, as its JSON object. */
function build(db: Database, kind: Kind, args: Record<string, any>, o: ReportOptions): any {
  if (kind === "blocks") {
    const opts = { ...o, sessionHours: sessionLengthFlag(args["session-length"]), now: Date.now(), recent: args.recent, active: args.active, tokenLimit: tokenLimitFlag(args["token-limit"]) };
    return blocksReport(db, opts);
  }
  if (kind === "session") return sessionReport(db, o);
  if (kind === "models") return modelsReport(db, o);
  return periodReport(db, kind, o);
}

/** The flags read before the database is opened: a mistake is one line, with nothing read. */
function options(kind: Kind, args: Record<string, any>): ReportOptions {
  for (const [flag, only] of Object.entries(ONLY_FOR)) {
    if (args[flag] !== undefined && args[flag] !== false && kind !== only) throw new SluiceError(`--${flag} is for 'sluice report ${only}', not '${kind}'`, EXIT_USAGE);
  }
  const week = args["start-of-week"];
  if (week !== undefined && !DAYS.includes(week)) throw new SluiceError(`--start-of-week ${week} is not a day; use one of ${DAYS.join(", ")}`, EXIT_USAGE);
  if (kind === "blocks") {
    sessionLengthFlag(args["session-length"]);
    tokenLimitFlag(args["token-limit"]);
  }
  const tz = tzFlag(args.tz);
  return { ...dateRange(args.since, args.until, tz), tz, prices: loadPrices(args.prices), startOfWeek: week === undefined ? 0 : DAYS.indexOf(week) };
}

export default defineCommand({
  meta: helpMeta({
    name: "report",
    description: "Token and cost reports from the deep index: daily, weekly, monthly, session, models, or 5-hour blocks (--json: ccusage's field names)",
    examples: [
      "sluice report daily --since 7d", "sluice report weekly --start-of-week monday", "sluice report blocks --active --token-limit max",
      "sluice report monthly --tz Europe/Berlin", "sluice report session --json | jq '.sessions[-1]'",
    ],
  }),
  args: {
    kind: { type: "positional", description: "daily | weekly | monthly | session | models | blocks", required: true, valueHint: "kind" },
    since: { type: "string", description: "From this local date on: YYYY-MM-DD, YYYYMMDD, today, yesterday, or 7d / 2w ago (blocks: by the day they start)", valueHint: "date", group: "input" },
    until: { type: "string", description: "Up to this local date, in the same forms", valueHint: "date", group: "input" },
    tz: { type: "string", description: "Time zone that days are counted in (default: this machine's)", valueHint: "Area/City", group: "output" },
    "start-of-week": { type: "string", description: "weekly: the day weeks start on (default sunday, as ccusage)", valueHint: "day", group: "output" },
    active: { type: "boolean", description: "blocks: only the active block, with its burn rate and projection", group: "output" },
    recent: { type: "boolean", description: "blocks: only those that started in the last 3 days, and the active one", group: "output" },
    "token-limit": { type: "string", description: "blocks: tokens to measure the active block's projection against (ok, warning past 80%, exceeds), or max: the largest earlier block", valueHint: "N|max", group: "output" },
    "session-length": { type: "string", description: "blocks: hours a block lasts (default 5)", valueHint: "hours", group: "advanced" },
    prices: { type: "string", description: `A JSON price table laid over the built-in one (dated ${PRICES_DATE}): its models replace or add to it`, valueHint: "file", group: "advanced" },
    ...dbArg,
    ...jsonArg,
  },
  run({ args }) {
    const kind = args.kind as Kind;
    if (!KINDS.includes(kind)) throw new SluiceError(`unknown report '${args.kind}'${didYouMean(args.kind, [...KINDS]) || `; use one of ${KINDS.join(", ")}`}`, EXIT_USAGE);
    const o = options(kind, args);
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      if (!db.query("SELECT 1 FROM agent_files LIMIT 1").get()) {
        throw new SluiceError(`${resolveDbPath(args.db)} has no deep index yet: run 'sluice index' (it reads ~/.claude and ~/.codex) to build one`, EXIT_FAILURE);
      }
      const r = build(db, kind, args, o);
      if (args.json) {
        printJson(r);
        return;
      }
      const notes: string[] = [];
      if (kind === "blocks") {
        process.stdout.write(blocksText(r, o.tz, args["token-limit"], args.active) + "\n");
        if (r.undatedCalls) notes.push(`${n(r.undatedCalls)} calls without a usable time are in no block`);
        // the buckets do not know the agent: say so where it matters, ccusage's blocks being Claude Code's alone
        if (db.query("SELECT 1 FROM sessions WHERE agent <> 'claude' LIMIT 1").get()) notes.push("blocks count every agent's calls in the index, Codex's too");
      } else {
        process.stdout.write(reportTable(kind, r) + "\n");
        if (r.undated) notes.push("undated: calls whose lines had no usable time, in a file with no dated line to date them by");
      }
      if (r.unpricedModels.length) notes.unshift(`no price for ${r.unpricedModels.join(", ")}: counted at $0 (pass --prices FILE)`);
      if (notes.length) process.stderr.write(notes.join("\n") + "\n");
    } finally {
      db.close();
    }
  },
});
