import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { readStats, type Health } from "../ops/stats";
import { count as n, mib as mb } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { printResult } from "./output";

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
    const s = readStats(resolveDbPath(args.db));
    printResult(args.json, s, () => {
      const out = [
        `health     ${s.health}${s.reasons.length ? "" : " (nothing to report)"}`,
        ...s.reasons.map((r) => `           - ${r}`),
        `database   ${s.db} (schema v${s.schema_version}): ${mb(s.files.db_bytes)}, WAL ${mb(s.files.wal_bytes)}, free pages ${mb(s.files.free_bytes)}`,
        `pages      ${n(s.pages.pageCount)} of ${n(s.pages.pageSize)} bytes, journal ${s.pages.journalMode}, auto_vacuum ${s.pages.autoVacuum}`,
        `tables     ${Object.entries(s.tables).map(([t, c]) => `${t} ${n(c)}`).join(", ")}`,
      ];
      const i = s.ingester;
      if (i?.running) {
        out.push(`ingester   ${i.mode}, PID ${i.pid}, RSS ${i.rss_bytes == null ? "?" : mb(i.rss_bytes)}${i.max_rss_bytes ? ` of ${mb(i.max_rss_bytes)}` : ""}, heartbeat ${i.heartbeat_age_s.toFixed(0)} s ago`);
      } else out.push(`ingester   not running${i ? ` (last: PID ${i.pid}, ${i.mode}, ${i.heartbeat_at})` : ""}`);
      for (const src of s.sources) {
        out.push(
          `source ${src.id}   ${src.path}: committed ${n(src.committed_offset)} bytes${src.behind_bytes == null ? "" : `, ${n(src.behind_bytes)} behind`}, ` +
            `${n(src.lines)} lines, ${n(src.rejects)} rejects${src.lines_per_s_1m == null ? "" : `, ${n(Math.round(src.lines_per_s_1m))} lines/s over the last minute`}, last commit ${src.last_commit_at ?? "never"}`,
        );
      }
      out.push(`last check ${s.last_check ? `${s.last_check.at} (${s.last_check.kind}): ${s.last_check.ok ? "ok" : `${s.last_check.problems.length} problems`}` : "never: run 'sluice check'"}`);
      return out;
    });
    process.exitCode = EXIT_BY_HEALTH[s.health];
  },
});
