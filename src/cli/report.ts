import { defineCommand } from "citty";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { openDatabase } from "../db/open";
import { loadPrices, PRICES_DATE } from "../report/prices";
import { modelsReport, periodReport, sessionReport, type ReportOptions } from "../report/reports";
import { count as n, usd } from "../runtime/format";
import { dateRange, dbArg, jsonArg, resolveDbPath } from "./flags";
import { printJson, table } from "./output";
import { didYouMean } from "./strict";

const KINDS = ["daily", "monthly", "session", "models"] as const;

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

export default defineCommand({
  meta: { name: "report", description: "Token and cost reports from the deep index: daily, monthly, session or models (--json: ccusage's field names)" },
  args: {
    kind: { type: "positional", description: "daily | monthly | session | models", required: true, valueHint: "kind" },
    since: { type: "string", description: "From this local date on: YYYY-MM-DD, YYYYMMDD, today, yesterday, or 7d / 2w ago", valueHint: "date" },
    until: { type: "string", description: "Up to this local date, in the same forms", valueHint: "date" },
    tz: { type: "string", description: "Time zone that days are counted in (default: this machine's)", valueHint: "Area/City" },
    prices: { type: "string", description: `A JSON price table to use instead of the built-in one (dated ${PRICES_DATE})`, valueHint: "file" },
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
      const key = kind === "daily" ? "daily" : kind === "monthly" ? "monthly" : kind === "session" ? "sessions" : "models";
      const first = kind === "daily" ? "date" : kind === "monthly" ? "month" : kind === "session" ? "sessionId" : "modelName";
      const rows = (r[key] as any[]).map((x) => [String(x[first]), kind === "models" ? n(x.calls) : (x.modelsUsed as string[]).join(", "), ...sums(x)]);
      if (r.undated) rows.push(["undated", r.undated.modelsUsed.join(", "), ...sums(r.undated)]);
      rows.push(["Total", "", ...sums(r.totals)]);
      const out = [table([first, kind === "models" ? "calls" : "models", "input", "output", "cache write", "cache read", "total tokens", "cost"], rows)];
      if (r.unpricedModels.length) out.push(`no price for ${r.unpricedModels.join(", ")}: counted at $0 (pass --prices FILE)`);
      if (r.undated) out.push("undated: calls whose lines had no usable time, in a file with no dated line to date them by");
      process.stdout.write(out.join("\n") + "\n");
    } finally {
      db.close();
    }
  },
});
