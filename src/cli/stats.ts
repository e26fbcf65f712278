import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { readStats, type Health } from "../ops/stats";
import { count as n, mib as mb, plural, usd } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { tzFlag } from "../report/dates";
import { config } from "../runtime/config";
import { openDatabase } from "../db/open";
import { budgetUse, type BudgetUse } from "../report/budget";
import { loadPrices } from "../report/prices";
import { printResult } from "./output";
import { pushLine } from "./status";

/**
 * The config file's budgets against today's and this month's spending, when it sets any and the
 * database has a deep index; null otherwise. Shown beside the health, which it does not change:
 * spending is the user's business, the verdict the tool's.
 */
function budgetOf(dbPath: string): ReturnType<typeof budgetUse> | null {
  const budget = config().budget;
  if (!budget || (budget.daily === undefined && budget.monthly === undefined)) return null;
  let db;
  try {
    db = openDatabase(dbPath, { readonly: true, currentSchema: true });
  } catch {
    return null; // readStats has said what is wrong with the database
  }
  try {
    if (!db.query("SELECT 1 FROM agent_files LIMIT 1").get()) return null;
    return budgetUse(db, budget, { prices: loadPrices(config().prices), tz: tzFlag(undefined), now: Date.now() });
  } finally {
    db.close();
  }
}

function budgetText(b: NonNullable<ReturnType<typeof budgetOf>>): string {
  const part = (name: string, u: BudgetUse | null) => (u ? `${name} ${usd(u.spent)} of ${usd(u.budget)}${u.over ? " (over)" : ""}` : null);
  return [part("today", b.daily), part("this month", b.monthly)].filter(Boolean).join(", ");
}

/** The verdict as an exit code, in the manner of monitoring plugins: ok 0, degraded 1, unhealthy 2. */
const EXIT_BY_HEALTH: Record<Health, number> = { ok: 0, degraded: 1, unhealthy: 2 };

export default defineCommand({
  meta: helpMeta({
    name: "stats",
    description: "Sizes, rows, ingest state and a health verdict (exit 0 ok, 1 degraded, 2 unhealthy): a health check for monitors",
    examples: ["sluice stats", "sluice stats --json | jq .health          # for a monitor: exit 0 ok, 1 degraded, 2 unhealthy"],
  }),
  args: { ...dbArg, ...jsonArg },
  run({ args }) {
    const dbPath = resolveDbPath(args.db);
    const s = { ...readStats(dbPath), budget: budgetOf(dbPath) };
    printResult(args.json, s, () => {
      const out = [
        `health     ${s.health}${s.reasons.length ? "" : " (nothing to report)"}`,
        ...s.reasons.map((r) => `           - ${r}`),
        `database   ${s.db} (schema v${s.schemaVersion}): ${mb(s.files.dbBytes)}, WAL ${mb(s.files.walBytes)}, free pages ${mb(s.files.freeBytes)}`,
        `pages      ${n(s.pages.pageCount)} of ${n(s.pages.pageSize)} bytes, journal ${s.pages.journalMode}, auto_vacuum ${s.pages.autoVacuum}`,
        `tables     ${Object.entries(s.tables).map(([t, c]) => `${t} ${n(c)}`).join(", ")}`,
      ];
      const i = s.ingester;
      if (i?.running) {
        out.push(`ingester   ${i.mode}, PID ${i.pid}, RSS ${i.rssBytes == null ? "?" : mb(i.rssBytes)}${i.maxRssBytes ? ` of ${mb(i.maxRssBytes)}` : ""}, heartbeat ${i.heartbeatAgeSeconds.toFixed(0)} s ago`);
      } else out.push(`ingester   not running${i ? ` (last: PID ${i.pid}, ${i.mode}, ${i.heartbeatAt})` : ""}`);
      for (const src of s.sources) {
        out.push(
          `source ${src.id}   ${src.path}: committed ${n(src.committedOffset)} bytes${src.behindBytes == null ? "" : `, ${n(src.behindBytes)} behind`}, ` +
            `${plural(src.lines, "line")}, ${plural(src.rejects, "reject")}${src.linesPerSecondLastMinute == null ? "" : `, ${n(Math.round(src.linesPerSecondLastMinute))} lines/s over the last minute`}, last commit ${src.lastCommitAt ?? "never"}`,
        );
      }
      for (const p of s.pushes) out.push(pushLine(p) + (p.following ? " (push --follow runs)" : ""));
      if (s.budget) out.push(`budget     ${budgetText(s.budget)}`);
      out.push(`last check ${s.lastCheck ? `${s.lastCheck.at} (${s.lastCheck.kind}): ${s.lastCheck.ok ? "ok" : `${plural(s.lastCheck.problems.length, "problem")}`}` : "never: run 'sluice check'"}`);
      return out;
    });
    process.exitCode = EXIT_BY_HEALTH[s.health];
  },
});
