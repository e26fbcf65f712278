// The reports on the deep index: per day, month, session and model, with cost. Days and months
// come from 15-minute buckets of usage (usage_buckets, kept current by the indexer, with each
// request's tokens past the long-context threshold summed apart); the buckets become local dates
// in JS, so --tz works for every zone, half-hour offsets too.

import type { Database } from "bun:sqlite";
import { BUCKET_SQL, LONG_CONTEXT_TOKENS } from "../deep-index/usage-buckets";
import { priceOf, type Price } from "./prices";

export interface Tokens {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
}

export interface ModelBreakdown extends Omit<Tokens, "totalTokens"> {
  modelName: string;
  cost: number;
}

export interface ReportRow extends Tokens {
  totalCost: number;
  modelsUsed: string[];
  modelBreakdowns: ModelBreakdown[];
}

export interface ReportOptions {
  since?: string; // YYYY-MM-DD, local
  until?: string;
  tz: string;
  prices: Record<string, Price>;
}

/** Loads each model's price into a temporary table the cost SQL joins to. */
function loadTurnPrices(db: Database, prices: Record<string, Price>): string[] {
  db.run(`CREATE TEMP TABLE IF NOT EXISTS turn_prices (model TEXT PRIMARY KEY, input REAL, output REAL, w5 REAL, w1 REAL, r REAL,
    threshold INTEGER, input_hi REAL, output_hi REAL, w5_hi REAL, w1_hi REAL, r_hi REAL)`);
  db.run("DELETE FROM temp.turn_prices");
  const insert = db.prepare("INSERT INTO temp.turn_prices VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  const unpriced: string[] = [];
  for (const { model } of db.query("SELECT DISTINCT model FROM turns WHERE model IS NOT NULL").all() as Array<{ model: string }>) {
    const p = priceOf(model, prices);
    if (!p) {
      unpriced.push(model);
      continue;
    }
    const a = p.above ?? p;
    insert.run(model, p.input, p.output, p.cacheWrite5m, p.cacheWrite1h, p.cacheRead, p.threshold ?? null, a.input, a.output, a.cacheWrite5m, a.cacheWrite1h, a.cacheRead);
  }
  return unpriced;
}

const tiered = (col: string, price: string) =>
  `(CASE WHEN p.threshold IS NULL OR t.${col} <= p.threshold THEN t.${col} * p.${price} ELSE p.threshold * p.${price} + (t.${col} - p.threshold) * p.${price}_hi END)`;
const COST_SQL = `coalesce(sum(${[
  tiered("input_tokens", "input"), tiered("output_tokens", "output"), tiered("cache_write_5m_tokens", "w5"), tiered("cache_write_1h_tokens", "w1"), tiered("cache_read_tokens", "r"),
].join(" + ")}) / 1e6, 0)`;

const SUMS_SQL = `sum(t.input_tokens) AS i, sum(t.output_tokens) AS o, sum(t.cache_write_5m_tokens + t.cache_write_1h_tokens) AS w, sum(t.cache_read_tokens) AS r, ${COST_SQL} AS cost`;

interface Bucket {
  key: string;
  model: string;
  i: number;
  o: number;
  w: number;
  r: number;
  cost: number;
}

/**
 * A stored time as a local date in `tz`, or null when it is undated. The index stores only
 * canonical times (deep-index/timestamps.ts); a database edited by hand may hold anything, and a
 * report still runs: what is no time counts as undated.
 */
function localDate(tz: string): (at: string | null) => string | null {
  const f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
  return (at) => {
    const ms = at ? Date.parse(at) : NaN;
    return Number.isFinite(ms) ? f.format(ms) : null;
  };
}

function emptyRow(): ReportRow {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, totalTokens: 0, totalCost: 0, modelsUsed: [], modelBreakdowns: [] };
}

function addTo(row: ReportRow, b: Bucket) {
  row.inputTokens += b.i;
  row.outputTokens += b.o;
  row.cacheCreationTokens += b.w;
  row.cacheReadTokens += b.r;
  row.totalTokens += b.i + b.o + b.w + b.r;
  row.totalCost += b.cost;
  let m = row.modelBreakdowns.find((x) => x.modelName === b.model);
  if (!m) {
    m = { modelName: b.model, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, cost: 0 };
    row.modelBreakdowns.push(m);
    row.modelsUsed.push(b.model);
  }
  m.inputTokens += b.i;
  m.outputTokens += b.o;
  m.cacheCreationTokens += b.w;
  m.cacheReadTokens += b.r;
  m.cost += b.cost;
}

function totalsOf(rows: ReportRow[]): Omit<ReportRow, "modelsUsed" | "modelBreakdowns"> {
  const t = { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, totalTokens: 0, totalCost: 0 };
  for (const r of rows) for (const k of Object.keys(t) as Array<keyof typeof t>) t[k] += r[k];
  return t;
}

interface UsageBucket {
  bucket: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  input_above: number;
  output_above: number;
  cache_read_above: number;
  cache_write_5m_above: number;
  cache_write_1h_above: number;
}

/** A bucket's cost from its sums: each count at its price, plus its part past the threshold at the difference. */
function bucketCost(u: UsageBucket, p: Price | null): number {
  if (!p) return 0;
  const a = p.above ?? p;
  const part = (sum: number, above: number, price: number, priceAbove: number) => sum * price + (p.threshold === undefined ? 0 : above * (priceAbove - price));
  return (
    part(u.input_tokens, u.input_above, p.input, a.input) + part(u.output_tokens, u.output_above, p.output, a.output) +
    part(u.cache_write_5m_tokens, u.cache_write_5m_above, p.cacheWrite5m, a.cacheWrite5m) + part(u.cache_write_1h_tokens, u.cache_write_1h_above, p.cacheWrite1h, a.cacheWrite1h) +
    part(u.cache_read_tokens, u.cache_read_above, p.cacheRead, a.cacheRead)
  ) / 1e6;
}

/**
 * The 15-minute buckets of every turn, with their cost: from usage_buckets, which the indexer keeps
 * current, unless a price table puts the long-context threshold somewhere the buckets did not sum
 * at; then from the turns themselves.
 */
function usageBuckets(db: Database, prices: Record<string, Price>): { buckets: Bucket[]; unpriced: string[] } {
  const rows = db.query("SELECT * FROM usage_buckets ORDER BY bucket").all() as UsageBucket[];
  const priceByModel = new Map<string, Price | null>();
  for (const r of rows) if (!priceByModel.has(r.model)) priceByModel.set(r.model, r.model === "unknown" ? null : priceOf(r.model, prices));
  const thresholds = [...priceByModel.values()].map((p) => p?.threshold).filter((t) => t !== undefined);
  if (thresholds.every((t) => t === LONG_CONTEXT_TOKENS)) {
    const buckets = rows.map((u) => ({
      key: u.bucket, model: u.model, i: u.input_tokens, o: u.output_tokens, w: u.cache_write_5m_tokens + u.cache_write_1h_tokens, r: u.cache_read_tokens,
      cost: bucketCost(u, priceByModel.get(u.model) ?? null),
    }));
    return { buckets, unpriced: [...priceByModel].filter(([m, p]) => p === null && m !== "unknown").map(([m]) => m).sort() };
  }
  const unpriced = loadTurnPrices(db, prices);
  const buckets = db
    .query(
      `SELECT ${BUCKET_SQL("t.at")} AS key, coalesce(t.model, 'unknown') AS model, ${SUMS_SQL}
       FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model GROUP BY key, t.model ORDER BY key`,
    )
    .all() as Bucket[];
  return { buckets, unpriced };
}

/**
 * `daily` or `monthly`: ccusage's field names, so its consumers read ours unchanged. Calls without
 * a time are `undated`, apart from the days, and in the totals unless --since or --until chose days.
 */
export function periodReport(db: Database, period: "daily" | "monthly", o: ReportOptions) {
  const { buckets, unpriced } = usageBuckets(db, o.prices);
  const toDate = localDate(o.tz);
  const rows = new Map<string, ReportRow>();
  let undated: ReportRow | null = null;
  const chosen = o.since !== undefined || o.until !== undefined;
  for (const b of buckets) {
    const date = toDate(b.key === "" ? null : `${b.key}:00Z`);
    if (date === null) {
      if (!chosen) addTo((undated ??= emptyRow()), b);
      continue;
    }
    if ((o.since && date < o.since) || (o.until && date > o.until)) continue;
    const key = period === "daily" ? date : date.slice(0, 7);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = emptyRow()));
    addTo(row, b);
  }
  const list = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, row]) => ({ [period === "daily" ? "date" : "month"]: key, ...row }));
  const totals = totalsOf([...(list as unknown as ReportRow[]), ...(undated ? [undated] : [])]);
  return { [period]: list, undated, totals, unpricedModels: unpriced };
}

export function sessionReport(db: Database, o: ReportOptions) {
  const unpriced = loadTurnPrices(db, o.prices);
  const buckets = db
    .query(`SELECT t.session_id AS key, coalesce(t.model, 'unknown') AS model, ${SUMS_SQL} FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model GROUP BY t.session_id, t.model`)
    .all() as Array<Bucket & { key: number }>;
  const info = new Map(
    (db.query("SELECT id, agent, session_key, agent_session_id, project, parent_session, last_at, turns FROM sessions").all() as any[]).map((s) => [s.id, s]),
  );
  const toDate = localDate(o.tz);
  const rows = new Map<number, ReportRow & Record<string, unknown>>();
  for (const b of buckets) {
    const s = info.get(b.key);
    const last = toDate(s?.last_at ?? null);
    if (last && ((o.since && last < o.since) || (o.until && last > o.until))) continue;
    let row = rows.get(b.key);
    if (!row) {
      row = { sessionId: s?.agent_session_id ?? s?.session_key, agent: s?.agent, projectPath: s?.project ?? null, parentSession: s?.parent_session ?? null, lastActivity: last, turns: s?.turns ?? 0, ...emptyRow() };
      rows.set(b.key, row);
    }
    addTo(row, b);
  }
  const list = [...rows.values()].sort((a, b) => String(a.lastActivity).localeCompare(String(b.lastActivity)));
  return { sessions: list, totals: totalsOf(list), unpricedModels: unpriced };
}

export function modelsReport(db: Database, o: ReportOptions) {
  const unpriced = loadTurnPrices(db, o.prices);
  const rows = db
    .query(
      `SELECT m.id AS modelName, m.provider, m.family, m.first_seen AS firstSeen, m.last_seen AS lastSeen, m.calls,
              sum(t.input_tokens) AS inputTokens, sum(t.output_tokens) AS outputTokens, sum(t.cache_write_5m_tokens + t.cache_write_1h_tokens) AS cacheCreationTokens,
              sum(t.cache_read_tokens) AS cacheReadTokens, sum(t.reasoning_tokens) AS reasoningTokens, ${COST_SQL} AS totalCost
       FROM models m JOIN turns t ON t.model = m.id LEFT JOIN temp.turn_prices p ON p.model = t.model
       WHERE (?1 IS NULL OR substr(t.at, 1, 10) >= ?1) AND (?2 IS NULL OR substr(t.at, 1, 10) <= ?2)
       GROUP BY m.id ORDER BY totalCost DESC, calls DESC`,
    )
    .all(o.since ?? null, o.until ?? null) as Array<Record<string, any>>;
  for (const r of rows) r.totalTokens = r.inputTokens + r.outputTokens + r.cacheCreationTokens + r.cacheReadTokens;
  return { models: rows, totals: totalsOf(rows as any), unpricedModels: unpriced };
}
