import { defineCommand } from "citty";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { openDatabase } from "../db/open";
import { PRICES_DATE } from "../report/prices";
import { localDate, totalsOf, type ReportOptions } from "../report/reports";
import { blocksText, shortModel } from "./report-blocks";
import { count as n, usd } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { renderTable, type Column } from "./table";
import type { Database } from "bun:sqlite";
import { didYouMean } from "../runtime/words";
import { build, KINDS, options, type Kind, type TableKind } from "../report/request";
import { writeErr, writeOut } from "../runtime/stdio";

/** A row's token counts and cost, as the table shows them. */
const sums = (x: any) => [n(x.inputTokens), n(x.outputTokens), n(x.cacheCreationTokens), n(x.cacheReadTokens), n(x.totalTokens), usd(x.totalCost)];


const FIRST: Record<TableKind, [key: string, field: string, head: string]> = {
  daily: ["daily", "date", "Date"], weekly: ["weekly", "week", "Week"], monthly: ["monthly", "month", "Month"], session: ["sessions", "sessionId", "Session"], models: ["models", "modelName", "Model"],
};

/** A row's models, one per line; with --breakdown the row is followed by one row per model instead. */
function modelRows(x: any, breakdown: boolean): string[][] {
  if (!breakdown) return [];
  return (x.modelBreakdowns as any[]).map((m) => [`  ${shortModel(m.modelName)}`, "", ...sums({ ...m, totalTokens: m.inputTokens + m.outputTokens + m.cacheCreationTokens + m.cacheReadTokens, totalCost: m.cost })]);
}

/** The report as a table that fits the terminal: the cache columns and the total go first when it is narrow. */
function reportTable(kind: TableKind, r: any, breakdown: boolean): string {
  const [key, field, head] = FIRST[kind];
  const second = (x: any) => (kind === "models" ? n(x.calls) : breakdown ? "" : (x.modelsUsed as string[]).map(shortModel).join("\n"));
  const rows: string[][] = (r[key] as any[]).flatMap((x) => [[String(x[field]), second(x), ...sums(x)], ...modelRows(x, breakdown)]);
  if (r.undated) rows.push(["undated", second(r.undated), ...sums(r.undated)], ...modelRows(r.undated, breakdown));
  rows.push(["Total", "", ...sums(r.totals)]);
  const num = (h: string, optional = false): Column => ({ head: h, align: "right", optional });
  const columns: Column[] = [
    { head, align: "left" }, kind === "models" ? num("Calls") : { head: "Models", align: "left", optional: breakdown },
    num("Input"), num("Output"), num("Cache write", true), num("Cache read", true), num("Total tokens", true), num("Cost"),
  ];
  // with a row per model, the models column says nothing more
  const drop = breakdown && kind !== "models" ? 1 : -1;
  const without = <T>(xs: T[]) => (drop < 0 ? xs : xs.filter((_, i) => i !== drop));
  return renderTable(without(columns), rows.map(without), { ...textOutput(), footerRows: 1 });
}

/** The session report: its id, project and last day first; subagents folded in are counted. */
function sessionTable(r: any, tz: string, breakdown: boolean): string {
  const day = localDate(tz);
  const project = (p: string | null) => (p ? p.slice(p.replace(/\/+$/, "").lastIndexOf("/") + 1) : "");
  // an agent column only when there is more than one agent to tell apart
  const agents = new Set((r.sessions as any[]).map((x) => x.agent)).size > 1;
  const agent = (a: string) => (agents ? [a] : []);
  const rows: string[][] = (r.sessions as any[]).flatMap((x) => [
    [x.sessionId + (x.subagents ? ` (+${x.subagents})` : ""), ...agent(x.agent), project(x.projectPath), day(x.lastActivity) ?? "", breakdown ? "" : (x.modelsUsed as string[]).map(shortModel).join("\n"), ...sums(x)],
    ...modelRows(x, breakdown).map(([m, ...rest]) => [m!, ...agent(""), "", "", ...rest]),
  ]);
  rows.push(["Total", ...agent(""), "", "", "", ...sums(r.totals)]);
  const num = (h: string, optional = false): Column => ({ head: h, align: "right", optional });
  const columns: Column[] = [
    { head: "Session", align: "left" }, ...(agents ? [{ head: "Agent", align: "left" } as Column] : []), { head: "Project", align: "left", optional: true },
    { head: "Last activity", align: "left" }, { head: "Models", align: "left", optional: true },
    num("Input"), num("Output"), num("Cache write", true), num("Cache read", true), num("Total tokens", true), num("Cost"),
  ];
  return renderTable(columns, rows, { ...textOutput(), footerRows: 1 });
}

/** --instances, --by: one table per project, device or person, under its name. */
function groupsText(kind: TableKind, groups: Record<string, any[]>, breakdown: boolean): string {
  const [key] = FIRST[kind];
  return Object.entries(groups)
    .map(([name, rows]) => `${name}\n${reportTable(kind, { [key]: rows, totals: totalsOf(rows) }, breakdown)}`)
    .join("\n\n");
}

/** What the report could not price exactly, and what it left out, under the table on stderr. */
function notesOf(db: Database | null, kind: Kind, r: any): string[] {
  const notes: string[] = [];
  if (r.unpricedModels.length) notes.push(`no price for ${r.unpricedModels.join(", ")}: counted at $0 (pass --prices FILE)`);
  for (const a of r.approximatePrices) notes.push(`${a.model} has no price of its own: priced as ${a.pricedAs} (pass --prices FILE to set it)`);
  if (kind === "blocks") {
    if (r.undatedCalls) notes.push(`${n(r.undatedCalls)} calls without a usable time are in no block`);
    // the buckets do not know the agent: say so where it matters, ccusage's blocks being Claude Code's alone
    if (db?.query("SELECT 1 FROM sessions WHERE agent <> 'claude' LIMIT 1").get()) notes.push("blocks count every agent's calls in the index, Codex's too (--agent claude for Claude Code's alone)");
  } else if (r.undated) notes.push("undated: calls whose lines had no usable time, in a file with no dated line to date them by");
  return notes;
}

/** The report on stdout (its JSON, or the table), and its notes on stderr. */
function show(kind: Kind, r: any, o: ReportOptions, args: Record<string, any>, db: Database | null) {
  if (args.json) return printJson(r);
  writeOut(text(kind, r, o, args) + "\n");
  const notes = notesOf(db, kind, r);
  if (notes.length) writeErr(notes.join("\n") + "\n");
}

function text(kind: Kind, r: any, o: ReportOptions, args: Record<string, any>): string {
  if (kind === "blocks") return blocksText(r, o.tz, args["token-limit"], args.active);
  if (kind === "session") return sessionTable(r, o.tz, args.breakdown);
  if (args.instances) return groupsText(kind, r.projects, args.breakdown);
  if (args.by) return groupsText(kind, r[args.by === "user" ? "users" : "devices"], args.breakdown);
  return reportTable(kind, r, args.breakdown);
}

export default defineCommand({
  meta: helpMeta({
    name: "report",
    description: "Token and cost reports from the deep index: daily, weekly, monthly, session, models, or 5-hour blocks (--json: ccusage's field names)",
    examples: [
      "sluice report daily --since 7d", "sluice report weekly --start-of-week monday", "sluice report blocks --active --token-limit max",
      "sluice report monthly --tz Europe/Berlin --breakdown", "sluice report daily --instances --agent codex", "sluice report session --id 29ccd257 --json",
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
    project: { type: "string", description: "Only this project's sessions: its directory, or the directory's name", valueHint: "dir|name", group: "input" },
    agent: { type: "string", description: "Only this agent's sessions: claude or codex", valueHint: "agent", group: "input" },
    id: { type: "string", description: "session: one session (or a unique prefix of its id), with its calls in --json (ccusage's entries)", valueHint: "session", group: "input" },
    subagents: { type: "boolean", description: "session: list subagents apart (<parent>/agent-<id>) instead of folded into their session", group: "output" },
    instances: { type: "boolean", description: "daily, weekly, monthly: one report per project (ccusage's --instances)", group: "output" },
    breakdown: { type: "boolean", description: "A row per model under each period or session", group: "output" },
    order: { type: "string", description: "asc (oldest first, the default) or desc", valueHint: "asc|desc", group: "output" },
    from: { type: "string", description: "A team store instead of the local database: postgres://user@host[:port]/database (the password from PGPASSWORD or ~/.pgpass)", valueHint: "url", group: "team" },
    device: { type: "string", description: "--from: only this device (its name, or its id's start)", valueHint: "name", group: "team" },
    user: { type: "string", description: "--from: only this person's devices", valueHint: "name", group: "team" },
    by: { type: "string", description: "--from, daily|weekly|monthly: one report per device or per user", valueHint: "device|user", group: "team" },
    prices: { type: "string", description: `A JSON price table laid over the built-in one (dated ${PRICES_DATE}): its models replace or add to it`, valueHint: "file", group: "advanced" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    const kind = args.kind as Kind;
    if (!KINDS.includes(kind)) throw new SluiceError(`unknown report '${args.kind}'${didYouMean(args.kind, [...KINDS]) || `; use one of ${KINDS.join(", ")}`}`, EXIT_USAGE);
    const o = options(kind, args);
    if (args.from !== undefined) {
      // the team store's code (its Postgres client among it) is loaded only for --from
      const { teamReport } = await import("./team-report");
      const r = await teamReport(kind, args, o, (db) => build(db, kind, args, o));
      show(kind, r, o, args, null);
      return;
    }
    if (args.device !== undefined || args.user !== undefined || args.by !== undefined) throw new SluiceError("--device, --user and --by are for a team store: add --from postgres://...", EXIT_USAGE);
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      if (!db.query("SELECT 1 FROM agent_files LIMIT 1").get()) {
        throw new SluiceError(`${resolveDbPath(args.db)} has no deep index yet: run 'sluice index' (it reads ~/.claude and ~/.codex) to build one`, EXIT_FAILURE);
      }
      show(kind, build(db, kind, args, o), o, args, db);
    } finally {
      db.close();
    }
  },
});
