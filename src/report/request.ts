// The reports as the CLI's --json builds them, from the flags (or the dashboard's query
// parameters, read as the same flags): \`sluice report\` and \`sluice serve\`'s /api/ share it, so a
// number on the page is the report's.

import type { Database } from "bun:sqlite";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { config } from "../runtime/config";
import { loadPrices } from "./prices";
import { modelsReport, periodReport, type ReportOptions } from "./reports";
import { filteredSessionIds, projectSessions, sessionEntries, sessionReport } from "./sessions";
import { blocksReport } from "./blocks";
import { dateRange, tzFlag } from "./dates";

export const KINDS = ["daily", "weekly", "monthly", "session", "models", "blocks"] as const;
export type Kind = (typeof KINDS)[number];
export type TableKind = Exclude<Kind, "blocks">;
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const PERIODS: Kind[] = ["daily", "weekly", "monthly"];
/** Flags that only some reports take: given to another, they are refused rather than ignored. */
const ONLY_FOR: Record<string, Kind[]> = {
  "start-of-week": ["weekly"], active: ["blocks"], recent: ["blocks"], "token-limit": ["blocks"], "session-length": ["blocks"],
  subagents: ["session"], id: ["session"], instances: PERIODS, breakdown: [...PERIODS, "session"],
};
const AGENTS = ["claude", "codex"];


/** --token-limit: a whole number of tokens, or max. */
export function tokenLimitFlag(v: string | undefined): number | "max" | undefined {
  if (v === undefined || v === "max") return v;
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 1) throw new SluiceError(`--token-limit ${v} is not a number of tokens; use a whole number such as 500000, or max (the largest earlier block)`, EXIT_USAGE);
  return x;
}

/** --session-length in hours: at least 1, so a block's first call always lies inside its window. */
export function sessionLengthFlag(v: string | undefined): number {
  if (v === undefined) return 5;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 1 || x > 24 * 366) throw new SluiceError(`--session-length ${v} is not a number of hours from 1 up (a block must hold the hour its first call is in); Claude's blocks are 5`, EXIT_USAGE);
  return x;
}

/** The report the flags ask for, as its JSON object. */
export function build(db: Database, kind: Kind, args: Record<string, any>, o: ReportOptions): any {
  const chosen = { ...o, sessions: filteredSessionIds(db, args) };
  if (kind === "blocks") {
    const opts = { ...chosen, sessionHours: sessionLengthFlag(args["session-length"]), now: Date.now(), recent: args.recent, active: args.active, tokenLimit: tokenLimitFlag(args["token-limit"]) };
    return blocksReport(db, opts);
  }
  if (kind === "session") {
    const so = { ...o, subagents: args.subagents, id: args.id, order: args.order, project: args.project, agent: args.agent };
    const r = sessionReport(db, so);
    return args.id === undefined ? r : { ...r, entries: sessionEntries(db, so) };
  }
  if (kind === "models") return modelsReport(db, chosen);
  if (args.instances) return instancesReport(db, kind, args, o);
  return ordered(periodReport(db, kind, chosen), kind, args.order);
}

/** ccusage's --instances: the period report per project, `{projects: {name: rows}, totals}`. */
function instancesReport(db: Database, kind: "daily" | "weekly" | "monthly", args: Record<string, any>, o: ReportOptions): any {
  const projects: Record<string, any[]> = {};
  const unpriced = new Set<string>(), approximate = new Map<string, unknown>();
  for (const [name, sessions] of projectSessions(db, args)) {
    const r: any = ordered(periodReport(db, kind, { ...o, sessions }), kind, args.order);
    if (!r[kind].length) continue;
    projects[name] = r[kind];
    r.unpricedModels.forEach((m: string) => unpriced.add(m));
    r.approximatePrices.forEach((a: any) => approximate.set(a.model, a));
  }
  const all = ordered(periodReport(db, kind, { ...o, sessions: filteredSessionIds(db, args) }), kind, args.order);
  return { projects, totals: all.totals, unpricedModels: [...unpriced].sort(), approximatePrices: [...approximate.values()] };
}

/** --order desc: the newest period first (ccusage's flag; ascending by default). */
function ordered(r: any, kind: string, order: string | undefined): any {
  if (order === "desc") r[kind].reverse();
  return r;
}

/** The flags read before the database is opened: a mistake is one line, with nothing read. */
export function options(kind: Kind, args: Record<string, any>): ReportOptions {
  for (const [flag, only] of Object.entries(ONLY_FOR)) {
    if (args[flag] !== undefined && args[flag] !== false && !only.includes(kind)) throw new SluiceError(`--${flag} is for 'sluice report ${only.join("|")}', not '${kind}'`, EXIT_USAGE);
  }
  const week = args["start-of-week"] ?? (kind === "weekly" ? config().startOfWeek : undefined);
  if (week !== undefined && !DAYS.includes(week)) throw new SluiceError(`--start-of-week ${week} is not a day; use one of ${DAYS.join(", ")}`, EXIT_USAGE);
  if (args.order !== undefined && !["asc", "desc"].includes(args.order)) throw new SluiceError(`--order ${args.order}: use asc (oldest first, the default) or desc`, EXIT_USAGE);
  if (args.agent !== undefined && !AGENTS.includes(args.agent)) throw new SluiceError(`--agent ${args.agent}: use ${AGENTS.join(" or ")}`, EXIT_USAGE);
  if (args.id === "" || args.project === "") throw new SluiceError(`--${args.id === "" ? "id" : "project"} needs a value`, EXIT_USAGE);
  if (kind === "blocks") {
    sessionLengthFlag(args["session-length"]);
    tokenLimitFlag(args["token-limit"]);
  }
  const tz = tzFlag(args.tz);
  return { ...dateRange(args.since, args.until, tz), tz, prices: loadPrices(args.prices ?? config().prices), startOfWeek: week === undefined ? 0 : DAYS.indexOf(week) };
}

