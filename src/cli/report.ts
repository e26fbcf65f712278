import { defineCommand } from "citty";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { openDatabase } from "../db/open";
import { loadPrices, PRICES_DATE } from "../report/prices";
import { modelsReport, periodReport, sessionReport, type ReportOptions } from "../report/reports";
import { count as n, usd } from "../runtime/format";
import { dateRange, dbArg, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { renderTable, type Column } from "./table";
import { didYouMean } from "./strict";

const KINDS = ["daily", "monthly", "session", "models"] as const;
type Kind = (typeof KINDS)[number];

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

const FIRST: Record<Kind, [key: string, field: string, head: string]> = {
  daily: ["daily", "date", "Date"], monthly: ["monthly", "month", "Month"], session: ["sessions", "sessionId", "Session"], models: ["models", "modelName", "Model"],
};

/** The report as a table that fits the terminal: the cache columns and the total go first when it is narrow. */
function reportTable(kind: Kind, r: any): string {
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

export default defineCommand({
  meta: helpMeta({
    name: "report",
    description: "Token and cost reports from the deep index: daily, monthly, session or models (--json: ccusage's field names)",
    examples: ["sluice report daily --since 7d", "sluice report monthly --tz Europe/Berlin", "sluice report session --json | jq '.sessions[-1]'"],
  }),
  args: {
    kind: { type: "positional", description: "daily | monthly | session | models", required: true, valueHint: "kind" },
    since: { type: "string", description: "From this local date on: YYYY-MM-DD, YYYYMMDD, today, yesterday, or 7d / 2w ago", valueHint: "date", group: "input" },
    until: { type: "string", description: "Up to this local date, in the same forms", valueHint: "date", group: "input" },
    tz: { type: "string", description: "Time zone that days are counted in (default: this machine's)", valueHint: "Area/City", group: "output" },
    prices: { type: "string", description: `A JSON price table to use instead of the built-in one (dated ${PRICES_DATE})`, valueHint: "file", group: "advanced" },
    ...dbArg,
    ...jsonArg,
  },
  run({ args }) {
    const kind = args.kind as (typeof KINDS)[number];
    if (!KINDS.includes(kind)) throw new SluiceError(`unknown report '${args.kind}'${didYouMean(args.kind, [...KINDS]) || `; use one of ${KINDS.join(", ")}`}`, EXIT_USAGE);
    const tz = tzFlag(args.tz);
    const o: ReportOptions = { ...dateRange(args.since, args.until, tz), tz, prices: loadPrices(args.prices) };
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      if (!db.query("SELECT 1 FROM agent_files LIMIT 1").get()) {
        throw new SluiceError(`${resolveDbPath(args.db)} has no deep index yet: run 'sluice index' (it reads ~/.claude and ~/.codex) to build one`, EXIT_FAILURE);
      }
      const r: any = kind === "session" ? sessionReport(db, o) : kind === "models" ? modelsReport(db, o) : periodReport(db, kind, o);
      if (args.json) {
        printJson(r);
        return;
      }
      process.stdout.write(reportTable(kind, r) + "\n");
      const notes: string[] = [];
      if (r.unpricedModels.length) notes.push(`no price for ${r.unpricedModels.join(", ")}: counted at $0 (pass --prices FILE)`);
      if (r.undated) notes.push("undated: calls whose lines had no usable time, in a file with no dated line to date them by");
      if (notes.length) process.stderr.write(notes.join("\n") + "\n");

    } finally {
      db.close();
    }
  },
});
