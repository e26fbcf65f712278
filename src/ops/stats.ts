// `sluice stats`: sizes, rows, ingest state and a health verdict a monitor can act on.
//
// The verdict reads only what is cheap to read (the ingester's heartbeat, file sizes, the record of
// the last `sluice check`), so a health probe every few seconds costs next to nothing; the
// integrity itself is what `sluice check` last found.

import type { Database } from "bun:sqlite";
import { ingesterRunning, readIngester } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { ingesterStatus, statusOf, type IngesterStatus, type PushTarget, type SourceStatus } from "./status";
import { fileBytes, pageInfo, tableExists, type PageInfo } from "./db-info";
import { mib as mb } from "../runtime/format";
import { hostName } from "../runtime/host";

export type Health = "ok" | "degraded" | "unhealthy";

export interface Stats {
  db: string;
  schemaVersion: number;
  health: Health;
  reasons: string[];
  files: { dbBytes: number; walBytes: number; freeBytes: number };
  pages: PageInfo;
  tables: Record<string, number>;
  ingester: (IngesterStatus & { heartbeatAgeSeconds: number }) | null;
  sources: Array<SourceStatus & { linesPerSecondLastMinute: number | null }>;
  lastCheck: { at: string; kind: string; ok: boolean; problems: string[] } | null;
  /** The team stores pushed to, how far behind each is, and whether a `push --follow` runs. */
  pushes: Array<PushTarget & { following: boolean }>;
}

/** Thresholds of the verdict; docs/design.md, "Health thresholds", lists them. */
export const HEALTH = {
  walBytes: 100 * 1024 * 1024,
  /** A lag this large that grew over the last minute means the ingester is falling behind. */
  lagBytes: 1024 * 1024,
  /** A running ingester beats once a second; this long without one, it is stuck. */
  heartbeatStaleS: 30,
  /** A running `push --follow` whose store has waited this long for pending changes is behind. */
  pushLagS: 600,
};

const TABLES = ["sse_rows", "sse_raw", "sse_decoded", "rejects", "sources", "source_events", "checks", "agent_files", "sessions", "turns", "invocations", "models"];

export function readStats(dbPath: string): Stats {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    const status = statusOf(db, dbPath);
    const pages = pageInfo(db);
    const tables: Record<string, number> = {};
    for (const t of TABLES) if (tableExists(db, t)) tables[t] = (db.query(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    const ing = readIngester(db);
    const running = ingesterRunning(ing);
    const lastCheck = readLastCheck(db);
    const files = { dbBytes: fileBytes(dbPath), walBytes: fileBytes(`${dbPath}-wal`), freeBytes: pages.freePages * pages.pageSize };
    const ingester = ing ? { ...ingesterStatus(ing, running), heartbeatAgeSeconds: Math.max(0, (Date.now() - Date.parse(ing.heartbeat_at)) / 1000) } : null;
    const sources = status.sources.map((s) => ({ ...s, linesPerSecondLastMinute: running && ing!.source_id === s.id ? ing!.lines_per_s : null }));
    const following = status.writers.some((w) => w.role === "push --follow");
    const pushes = status.pushes.map((p) => ({ ...p, following }));
    const s: Stats = { db: dbPath, schemaVersion: status.schemaVersion, health: "ok", reasons: [], files, pages, tables, ingester, sources, lastCheck, pushes };
    judge(s, lastInterruption(db));
    return s;
  } finally {
    db.close();
  }
}

function readLastCheck(db: Database): Stats["lastCheck"] {
  if (!tableExists(db, "checks")) return null;
  const r = db.query("SELECT at, kind, ok, problems FROM checks ORDER BY id DESC LIMIT 1").get() as { at: string; kind: string; ok: number; problems: string } | null;
  return r ? { at: r.at, kind: r.kind, ok: r.ok === 1, problems: JSON.parse(r.problems) } : null;
}

/** Sets the verdict: unhealthy beats degraded beats ok; every reason is listed. */
function judge(s: Stats, interruption: string | null) {
  const unhealthy: string[] = [], degraded: string[] = [];
  const i = s.ingester;
  if (!i) {
    if (s.sources.length) degraded.push("no ingester has run on this database"); // a deep index alone needs none
  } else if (i.mode === "stopped") degraded.push(`no ingester is running (the last, PID ${i.pid}, stopped cleanly at ${i.heartbeatAt})`);
  else if (!i.running) {
    if (i.host !== hostName()) degraded.push(`the ingester runs on another host (${i.host}); its health cannot be judged from here`);
    else unhealthy.push(`the ingester is gone: PID ${i.pid} (${i.mode}) died without stopping; restart it (the service manager should)`);
  } else {
    if (i.heartbeatAgeSeconds > HEALTH.heartbeatStaleS) unhealthy.push(`the ingester (PID ${i.pid}) has not beaten for ${Math.round(i.heartbeatAgeSeconds)} s: it is stuck`);
    if (i.maxRssBytes && i.rssBytes && i.rssBytes > i.maxRssBytes) degraded.push(`the ingester's RSS ${mb(i.rssBytes)} is over its budget of ${mb(i.maxRssBytes)}`);
    if (i.lagBytes != null && i.lagGrowthBytes != null && i.lagBytes > HEALTH.lagBytes && i.lagGrowthBytes > 0) {
      degraded.push(`the lag is growing: ${mb(i.lagBytes)} behind, ${mb(i.lagGrowthBytes)} more than a minute ago`);
    }
  }
  if (interruption && !i?.running) degraded.push(interruption);
  if (s.files.walBytes > HEALTH.walBytes) degraded.push(`the WAL is ${mb(s.files.walBytes)}, over ${mb(HEALTH.walBytes)}: a long-lived reader is holding back checkpoints`);
  for (const p of s.pushes) {
    if (p.following && p.behindChanges > 0 && p.secondsSincePush > HEALTH.pushLagS) {
      degraded.push(`the push to ${p.target} is ${p.behindChanges} changes behind, the last one ${Math.round(p.secondsSincePush / 60)} min ago: see the push service's log`);
    }
  }
  if (s.lastCheck && !s.lastCheck.ok) unhealthy.push(`the last check (${s.lastCheck.at}) found problems: ${s.lastCheck.problems.slice(0, 3).join("; ")}`);
  s.reasons = [...unhealthy, ...degraded];
  s.health = unhealthy.length ? "unhealthy" : degraded.length ? "degraded" : "ok";
}


/**
 * The backfill left interrupted, when the newest event of an active source says so: the capture
 * is whole up to its committed offset, but behind the file until someone runs the command again.
 */
function lastInterruption(db: Database): string | null {
  if (!tableExists(db, "source_events")) return null;
  const e = db
    .query("SELECT e.source_id, e.at, e.kind, e.detail, s.path FROM source_events e JOIN sources s ON s.id = e.source_id WHERE s.state = 'active' ORDER BY e.id DESC LIMIT 1")
    .get() as { source_id: number; at: string; kind: string; detail: string | null; path: string } | null;
  if (!e || e.kind !== "interrupted") return null;
  return `the last backfill of ${e.path} was interrupted at ${e.at} (${e.detail ?? "no detail"}); run 'sluice ingest' on it again to finish`;
}
