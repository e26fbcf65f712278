// `sluice stats`: sizes, rows, ingest state and a health verdict a monitor can act on.
//
// The verdict reads only what is cheap to read (the ingester's heartbeat, file sizes, the record of
// the last `sluice check`), so a health probe every few seconds costs next to nothing; the
// integrity itself is what `sluice check` last found.

import type { Database } from "bun:sqlite";
import { hostname } from "node:os";
import { ingesterRunning, processAlive, readIngester, type IngesterRow } from "../db/writer-lock";
import { openDatabase } from "../db/open";
import { statusOf, type SourceStatus } from "./status";
import { fileBytes, pageInfo, tableExists, type PageInfo } from "./db-info";
import { mib as mb } from "../runtime/format";

export type Health = "ok" | "degraded" | "unhealthy";

export interface Stats {
  db: string;
  schema_version: number;
  health: Health;
  reasons: string[];
  files: { db_bytes: number; wal_bytes: number; free_bytes: number };
  pages: PageInfo;
  tables: Record<string, number>;
  ingester: (IngesterRow & { running: boolean; heartbeat_age_s: number }) | null;
  sources: Array<SourceStatus & { lines_per_s_1m: number | null }>;
  last_check: { at: string; kind: string; ok: boolean; problems: string[] } | null;
}

/** Thresholds of the verdict; docs/design.md, "Health thresholds", lists them. */
export const HEALTH = {
  walBytes: 100 * 1024 * 1024,
  /** A lag this large that grew over the last minute means the ingester is falling behind. */
  lagBytes: 1024 * 1024,
  /** A running ingester beats once a second; this long without one, it is stuck. */
  heartbeatStaleS: 30,
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
    const files = { db_bytes: fileBytes(dbPath), wal_bytes: fileBytes(`${dbPath}-wal`), free_bytes: pages.freePages * pages.pageSize };
    const ingester = ing ? { ...ing, running, heartbeat_age_s: Math.max(0, (Date.now() - Date.parse(ing.heartbeat_at)) / 1000) } : null;
    const sources = status.sources.map((s) => ({ ...s, lines_per_s_1m: running && ing!.source_id === s.id ? ing!.lines_per_s : null }));
    const s: Stats = { db: dbPath, schema_version: status.schema_version, health: "ok", reasons: [], files, pages, tables, ingester, sources, last_check: lastCheck };
    judge(s);
    return s;
  } finally {
    db.close();
  }
}

function readLastCheck(db: Database): Stats["last_check"] {
  if (!tableExists(db, "checks")) return null;
  const r = db.query("SELECT at, kind, ok, problems FROM checks ORDER BY id DESC LIMIT 1").get() as { at: string; kind: string; ok: number; problems: string } | null;
  return r ? { at: r.at, kind: r.kind, ok: r.ok === 1, problems: JSON.parse(r.problems) } : null;
}

/** Sets the verdict: unhealthy beats degraded beats ok; every reason is listed. */
function judge(s: Stats) {
  const unhealthy: string[] = [], degraded: string[] = [];
  const i = s.ingester;
  if (!i) {
    if (s.sources.length) degraded.push("no ingester has run on this database"); // a deep index alone needs none
  } else if (i.mode === "stopped") degraded.push(`no ingester is running (the last, PID ${i.pid}, stopped cleanly at ${i.heartbeat_at})`);
  else if (!i.running) {
    if (i.host !== hostname()) degraded.push(`the ingester runs on another host (${i.host}); its health cannot be judged from here`);
    else if (!processAlive(i.pid)) unhealthy.push(`the ingester is gone: PID ${i.pid} (${i.mode}) died without stopping; restart it (the service manager should)`);
  } else {
    if (i.heartbeat_age_s > HEALTH.heartbeatStaleS) unhealthy.push(`the ingester (PID ${i.pid}) has not beaten for ${Math.round(i.heartbeat_age_s)} s: it is stuck`);
    if (i.max_rss_bytes && i.rss_bytes && i.rss_bytes > i.max_rss_bytes) degraded.push(`the ingester's RSS ${mb(i.rss_bytes)} is over its budget of ${mb(i.max_rss_bytes)}`);
    if (i.lag_bytes != null && i.lag_growth_bytes != null && i.lag_bytes > HEALTH.lagBytes && i.lag_growth_bytes > 0) {
      degraded.push(`the lag is growing: ${mb(i.lag_bytes)} behind, ${mb(i.lag_growth_bytes)} more than a minute ago`);
    }
  }
  if (s.files.wal_bytes > HEALTH.walBytes) degraded.push(`the WAL is ${mb(s.files.wal_bytes)}, over ${mb(HEALTH.walBytes)}: a long-lived reader is holding back checkpoints`);
  if (s.last_check && !s.last_check.ok) unhealthy.push(`the last check (${s.last_check.at}) found problems: ${s.last_check.problems.slice(0, 3).join("; ")}`);
  s.reasons = [...unhealthy, ...degraded];
  s.health = unhealthy.length ? "unhealthy" : degraded.length ? "degraded" : "ok";
}

