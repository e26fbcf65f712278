import { defineCommand } from "citty";
import { statSync } from "node:fs";
import { openDatabase } from "../db/open";
import { ingesterRunning, type IngesterRow } from "../db/ingester";
import type { SourceRow } from "../db/sources";
import { dbArg, jsonArg, resolveDbPath } from "./shared-args";

interface SourceStatus {
  id: number;
  path: string;
  kind: string;
  state: string;
  dev: number | null;
  ino: number | null;
  fingerprint: string | null;
  committed_offset: number;
  size: number | null;
  behind_bytes: number | null;
  lines: number;
  rejects: number;
  last_commit_at: string | null;
}

export interface Status {
  db: string;
  schema_version: number;
  mode: string;
  ingester: (IngesterRow & { running: boolean }) | null;
  rows: number;
  rejects: number;
  sources: SourceStatus[];
  retired_sources: number;
}

export function readStatus(dbPath: string): Status {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    const hasIngester = !!db.query("SELECT 1 FROM sqlite_schema WHERE name = 'ingester'").get();
    const ing = hasIngester ? ((db.query("SELECT * FROM ingester WHERE id = 1").get() as IngesterRow | null) ?? null) : null;
    const running = ingesterRunning(ing);
    const all = db.query("SELECT * FROM sources ORDER BY id").all() as Array<SourceRow & { last_commit_at: string | null }>;
    const totals = db.query("SELECT coalesce(sum(lines), 0) AS rows, coalesce(sum(rejects), 0) AS rejects FROM sources").get() as { rows: number; rejects: number };
    const sources = all
      .filter((s) => s.state === "active")
      .map((s) => {
        let size: number | null = null;
        if (s.kind === "file") {
          try {
            const st = statSync(s.path);
            if (st.ino === s.ino && st.dev === s.dev) size = st.size;
          } catch {}
        }
        return {
          id: s.id, path: s.path, kind: s.kind, state: s.state, dev: s.dev, ino: s.ino, fingerprint: s.fingerprint,
          committed_offset: s.committed_offset, size, behind_bytes: size === null ? null : Math.max(0, size - s.committed_offset),
          lines: s.lines, rejects: s.rejects, last_commit_at: s.last_commit_at,
        };
      });
    return {
      db: dbPath, schema_version: version, mode: running ? ing!.mode : "stopped",
      ingester: ing ? { ...ing, running } : null, rows: totals.rows, rejects: totals.rejects, sources, retired_sources: all.length - sources.length,
    };
  } finally {
    db.close();
  }
}

export default defineCommand({
  meta: { name: "status", description: "What the ingester is doing: mode, source, committed offset, lag, rows, PID and RSS. Works while it runs." },
  args: { ...dbArg, ...jsonArg },
  run({ args }) {
    const s = readStatus(resolveDbPath(args.db));
    if (args.json) {
      process.stdout.write(JSON.stringify(s) + "\n");
      return;
    }
    const n = (x: number) => x.toLocaleString("en-US");
    const mb = (x: number | null | undefined) => (x == null ? "?" : `${(x / 1048576).toFixed(1)} MB`);
    const out: string[] = [`database   ${s.db} (schema v${s.schema_version})`];
    const i = s.ingester;
    if (i && i.running) {
      out.push(`ingester   ${i.mode}, PID ${i.pid}, RSS ${mb(i.rss_bytes)}${i.max_rss_bytes ? ` of ${mb(i.max_rss_bytes)} budget` : ""}, ${i.lines_per_s == null ? "" : `${n(Math.round(i.lines_per_s))} lines/s, `}heartbeat ${i.heartbeat_at}`);
    } else out.push(`ingester   not running${i ? ` (last: PID ${i.pid}, ${i.mode}, ${i.heartbeat_at})` : ""}`);
    out.push(`rows       ${n(s.rows)} (${n(s.rejects)} rejects)`);
    for (const src of s.sources) {
      out.push(`source ${src.id}   ${src.path} (${src.kind}${src.ino != null ? `, inode ${src.dev}:${src.ino}, fingerprint ${src.fingerprint}` : ""})`);
      out.push(`           committed ${n(src.committed_offset)} bytes${src.behind_bytes == null ? "" : `, ${n(src.behind_bytes)} behind`}, ${n(src.lines)} lines, last commit ${src.last_commit_at ?? "never"}`);
    }
    if (s.retired_sources) out.push(`           and ${s.retired_sources} retired sources (rotated, truncated or replaced)`);
    process.stdout.write(out.join("\n") + "\n");
  },
});
