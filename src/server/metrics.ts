// /metrics in the Prometheus text format (version 0.0.4), named by its conventions: the sluice_
// prefix, _total on counters, base units (_bytes, _seconds), labels for model, kind and source.
// Token and cost totals come from the daily report itself, so they equal `report daily --json`.

import { config } from "../runtime/config";
import { tzFlag } from "../report/dates";
import { loadPrices } from "../report/prices";
import { periodReport } from "../report/reports";
import { readStats, type Health } from "../ops/stats";
import { ingesterRunning, liveWriters, readIngester } from "../db/writer-lock";
import { parseHistogram, type HistogramState } from "../runtime/histogram";
import type { Store } from "./store";
import { byText } from "../runtime/words";

type Labels = Record<string, string | number>;
type Sample = [Labels, number];

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function family(out: string[], name: string, type: "counter" | "gauge", help: string, samples: Sample[]) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(String(v))}"`).join(",");
    out.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
  }
}

/**
 * A histogram family: cumulative _bucket series (le ending in +Inf), _sum and _count per label set.
 * Each writer keeps its own counts since it started (runtime/histogram.ts); a restart resets them,
 * which rate() and histogram_quantile() take as a counter reset.
 */
function histogramFamily(out: string[], name: string, help: string, samples: Array<[Labels, HistogramState]>) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [labels, h] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(String(v))}",`).join("");
    let cumulative = 0;
    h.counts.forEach((n, i) => {
      cumulative += n;
      out.push(`${name}_bucket{${l}le="${i < h.le.length ? h.le[i] : "+Inf"}"} ${cumulative}`);
    });
    out.push(`${name}_sum{${l.slice(0, -1)}} ${h.sum}`, `${name}_count{${l.slice(0, -1)}} ${h.count}`);
  }
}

/** Two histograms of the same bounds added up (two index followers on one database); null if the bounds differ. */
function added(a: HistogramState, b: HistogramState): HistogramState | null {
  if (a.le.join() !== b.le.join()) return null;
  return { le: a.le, counts: a.counts.map((n, i) => n + b.counts[i]!), sum: a.sum + b.sum, count: a.count + b.count };
}

/**
 * The running writers' commit latencies, as they saved them (writer-lock.ts): the live capture's
 * on the ingester row, each index follower's on its 'running' row in writers.
 */
function commitLatencies(store: Store): Array<[Labels, HistogramState]> {
  const out: Array<[Labels, HistogramState]> = [];
  const ing = readIngester(store.db);
  const capture = ingesterRunning(ing) ? parseHistogram(ing!.commit_latency) : null;
  if (capture) out.push([{ writer: "capture" }, capture]);
  let index: HistogramState | null = null;
  for (const w of liveWriters(store.db)) {
    const h = w.role === "index --follow" ? parseHistogram(w.commit_latency) : null;
    if (h) index = index ? (added(index, h) ?? index) : h;
  }
  if (index) out.push([{ writer: "index" }, index]);
  return out;
}

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : NaN);

/** Tokens by model and kind, and cost by model, from the daily report's rows (undated calls too). */
function usage(store: Store): { tokens: Sample[]; cost: Sample[]; calls: Sample[] } {
  const r: any = periodReport(store.db, "daily", { tz: tzFlag(undefined), prices: loadPrices(config().prices) });
  const byModel = new Map<string, { input: number; output: number; cache_write: number; cache_read: number; cost: number }>();
  for (const row of [...r.daily, ...(r.undated ? [r.undated] : [])]) {
    for (const m of row.modelBreakdowns) {
      const t = byModel.get(m.modelName) ?? byModel.set(m.modelName, { input: 0, output: 0, cache_write: 0, cache_read: 0, cost: 0 }).get(m.modelName)!;
      t.input += m.inputTokens;
      t.output += m.outputTokens;
      t.cache_write += m.cacheCreationTokens;
      t.cache_read += m.cacheReadTokens;
      t.cost += m.cost;
    }
  }
  const tokens: Sample[] = [], cost: Sample[] = [];
  for (const [model, t] of [...byModel].sort(([a], [b]) => byText(a, b))) {
    for (const kind of ["input", "output", "cache_write", "cache_read"] as const) tokens.push([{ model, kind }, t[kind]]);
    cost.push([{ model }, t.cost]);
  }
  const calls = (store.db.query("SELECT id AS model, calls FROM models ORDER BY id").all() as Array<{ model: string; calls: number }>).map((m): Sample => [{ model: m.model }, m.calls]);
  return { tokens, cost, calls };
}

export function metricsText(store: Store): string {
  const out: string[] = [];
  const s = readStats(store.path);
  const sources = s.sources;
  family(out, "sluice_capture_lines_total", "counter", "Lines of the capture committed, per source.", sources.map((x) => [{ source: x.path }, x.lines]));
  family(out, "sluice_capture_rejects_total", "counter", "Lines of the capture rejected, per source.", sources.map((x) => [{ source: x.path }, x.rejects]));
  family(out, "sluice_capture_behind_bytes", "gauge", "Bytes of a source not yet committed.", sources.filter((x) => x.behindBytes !== null).map((x) => [{ source: x.path }, x.behindBytes!]));
  family(out, "sluice_capture_last_commit_timestamp_seconds", "gauge", "When a source last committed.", sources.filter((x) => x.lastCommitAt).map((x) => [{ source: x.path }, seconds(x.lastCommitAt)]));
  family(out, "sluice_table_rows", "gauge", "Rows per table.", Object.entries(s.tables).map(([t, n]) => [{ table: t }, n]));
  const i = s.ingester;
  family(out, "sluice_ingester_up", "gauge", "1 when an ingester is running on this database.", [[{}, i?.running ? 1 : 0]]);
  if (i?.running) {
    family(out, "sluice_ingester_resident_memory_bytes", "gauge", "The running ingester's RSS.", [[{}, i.rssBytes ?? NaN]]);
    if (i.maxRssBytes) family(out, "sluice_ingester_resident_memory_budget_bytes", "gauge", "The running ingester's RSS budget.", [[{}, i.maxRssBytes]]);
    family(out, "sluice_ingester_lines_per_second", "gauge", "Lines per second over the ingester's last heartbeat.", [[{}, i.linesPerSecond ?? 0]]);
    family(out, "sluice_ingester_heartbeat_age_seconds", "gauge", "Seconds since the ingester's last heartbeat.", [[{}, i.heartbeatAgeSeconds]]);
  }
  // A histogram, not a summary: see runtime/histogram.ts.
  histogramFamily(out, "sluice_commit_duration_seconds",
    "Seconds from a write transaction's BEGIN to its COMMIT, per running writer: a live capture batch (its oldest line's wait in the writer and the commit), an index follower pass that wrote.",
    commitLatencies(store));
  const writers = liveWriters(store.db);
  family(out, "sluice_writers", "gauge", "Running writers of the deep index, per role.", [...new Set(writers.map((w) => w.role))].map((role) => [{ role }, writers.filter((w) => w.role === role).length]));
  family(out, "sluice_push_behind_changes", "gauge", "Local changes a team store has not got yet, per store.", s.pushes.map((p) => [{ target: p.target }, p.behindChanges]));
  family(out, "sluice_push_last_timestamp_seconds", "gauge", "When the last push to a team store committed, per store.", s.pushes.map((p) => [{ target: p.target }, seconds(p.pushedAt)]));
  family(out, "sluice_database_bytes", "gauge", "Size of the database file.", [[{}, s.files.dbBytes]]);
  family(out, "sluice_wal_bytes", "gauge", "Size of the write-ahead log.", [[{}, s.files.walBytes]]);
  family(out, "sluice_free_bytes", "gauge", "Free pages in the database file, in bytes.", [[{}, s.files.freeBytes]]);
  const health: Health[] = ["ok", "degraded", "unhealthy"];
  family(out, "sluice_health", "gauge", "The stats verdict: 1 for the current one.", health.map((h) => [{ verdict: h }, s.health === h ? 1 : 0]));
  if (s.lastCheck) {
    family(out, "sluice_last_check_ok", "gauge", "1 when the last sluice check found no problem.", [[{ kind: s.lastCheck.kind }, s.lastCheck.ok ? 1 : 0]]);
    family(out, "sluice_last_check_timestamp_seconds", "gauge", "When sluice check last ran.", [[{ kind: s.lastCheck.kind }, seconds(s.lastCheck.at)]]);
  }
  if (store.hasIndex()) indexMetrics(out, store);
  family(out, "process_resident_memory_bytes", "gauge", "This server's RSS.", [[{}, process.memoryUsage().rss]]);
  return out.join("\n") + "\n";
}

function indexMetrics(out: string[], store: Store) {
  const u = usage(store);
  family(out, "sluice_tokens_total", "counter", "Tokens in the deep index, by model and kind (as report daily counts them).", u.tokens);
  family(out, "sluice_cost_usd_total", "counter", "Cost in US dollars, by model (as report daily prices it).", u.cost);
  family(out, "sluice_model_calls_total", "counter", "Model calls in the deep index, by model.", u.calls);
  const f = store.db.query("SELECT count(*) AS files, coalesce(sum(max(size - indexed_offset, 0)), 0) AS behind, max(indexed_at) AS last FROM agent_files").get() as { files: number; behind: number; last: string | null };
  family(out, "sluice_index_files", "gauge", "Agent log files in the deep index.", [[{}, f.files]]);
  family(out, "sluice_index_behind_bytes", "gauge", "Bytes of agent logs seen but not yet indexed.", [[{}, f.behind]]);
  if (f.last) {
    family(out, "sluice_index_last_indexed_timestamp_seconds", "gauge", "When a file was last indexed.", [[{}, seconds(f.last)]]);
    family(out, "sluice_index_lag_seconds", "gauge", "Seconds since a file was last indexed.", [[{}, Date.now() / 1000 - seconds(f.last)]]);
  }
  const sessions = store.db.query("SELECT agent, count(*) AS n FROM sessions GROUP BY agent ORDER BY agent").all() as Array<{ agent: string; n: number }>;
  family(out, "sluice_sessions", "gauge", "Sessions in the deep index, per agent.", sessions.map((x) => [{ agent: x.agent }, x.n]));
}
