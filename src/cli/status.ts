import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { readStatus, type PushTarget } from "../ops/status";
import { ago } from "../runtime/status-line";
import { count as n, mib, plural } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { printJson } from "./output";
import { writeOut } from "../runtime/stdio";
import { hostName } from "../runtime/host";

export default defineCommand({
  meta: helpMeta({
    name: "status",
    description: "What the ingester is doing: mode, source, committed offset, lag, rows, PID and RSS. Works while it runs.",
    examples: ["sluice status", "watch -n1 sluice status"],
  }),
  args: { ...dbArg, ...jsonArg },
  run({ args }) {
    const s = readStatus(resolveDbPath(args.db));
    if (args.json) {
      printJson(s);
      return;
    }
    const mb = (x: number | null | undefined) => (x == null ? "?" : mib(x));
    const out: string[] = [`database   ${s.db} (schema v${s.schemaVersion})`];
    const i = s.ingester;
    if (i && i.running) {
      out.push(`ingester   ${i.mode}, PID ${i.pid}, RSS ${mb(i.rssBytes)}${i.maxRssBytes ? ` of ${mb(i.maxRssBytes)} budget` : ""}, ${i.linesPerSecond == null ? "" : `${n(Math.round(i.linesPerSecond))} lines/s, `}heartbeat ${i.heartbeatAt}`);
    } else if (i || !s.writers.length) out.push(`ingester   not running${i ? ` (last: PID ${i.pid}, ${i.mode}, ${i.heartbeatAt})` : ""}`);
    for (const w of s.writers) out.push(`${w.role === "index --follow" ? "follower " : "writer   "}  '${w.role}', PID ${w.pid}${w.host === hostName() ? "" : ` on ${w.host}`}, since ${w.since}${w.writing ? ", writing now" : ""}`);
    out.push(`rows       ${n(s.rows)} (${plural(s.rejects, "reject")})`);
    for (const src of s.sources) {
      out.push(`source ${src.id}   ${src.path} (${src.kind}${src.ino != null ? `, inode ${src.dev}:${src.ino}, fingerprint ${src.fingerprint}` : ""})`);
      out.push(`           committed ${n(src.committedOffset)} bytes${src.behindBytes == null ? "" : `, ${n(src.behindBytes)} behind`}, ${plural(src.lines, "line")}, last commit ${src.lastCommitAt ?? "never"}`);
    }
    if (s.retiredSources) out.push(`           and ${s.retiredSources} retired sources (rotated, truncated or replaced)`);
    for (const p of s.pushes) out.push(pushLine(p));
    writeOut(out.join("\n") + "\n");
  },
});

/** A team store this database pushes to: how far behind it is. */
export function pushLine(p: PushTarget): string {
  const behind = p.behindChanges ? `${plural(p.behindChanges, "change")} behind` : "up to date";
  return `push       ${p.target}: ${behind}, last push ${ago(Date.now() - p.secondsSincePush * 1000)}`;
}
