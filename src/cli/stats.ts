import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { readStats, type Health } from "../ops/stats";
import { count as n, mib as mb, plural } from "../runtime/format";
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
      out.push(`last check ${s.lastCheck ? `${s.lastCheck.at} (${s.lastCheck.kind}): ${s.lastCheck.ok ? "ok" : `${plural(s.lastCheck.problems.length, "problem")}`}` : "never: run 'sluice check'"}`);
      return out;
    });
    process.exitCode = EXIT_BY_HEALTH[s.health];
  },
});
