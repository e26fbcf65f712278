// The reports on the deep index: per day, week, month, session and model, with cost. Days, weeks
// and months come from 15-minute buckets of usage (usage_buckets, kept current by the indexer, with
// each request's tokens past the long-context threshold summed apart); the buckets become local
// dates in JS, so --tz works for every zone, half-hour offsets too. The 5-hour blocks
// (report/blocks.ts) read the same buckets through UsageReader.

import type { Database, Statement } from "bun:sqlite";
import { BUCKET_SQL, LONG_CONTEXT_TOKENS } from "../deep-index/usage-buckets";
import { isCanonical } from "../deep-index/timestamps";
import { approximatePrices, priceOf, type Price } from "./prices";
import { localDateOf, zone } from "../runtime/zone";
import { byText } from "../runtime/words";

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
  /** The day a week starts on for `weekly`: 0 Sunday (ccusage's default) to 6 Saturday. */
  startOfWeek?: number;
  /** Only these sessions' calls (--project, --agent); all when absent. */
  sessions?: number[] | null;
}

/** Loads each model's price into a temporary table the cost SQL joins to. */
export function loadTurnPrices(db: Database, prices: Record<string, Price>, models?: string[]): string[] {
  db.run(`CREATE TEMP TABLE IF NOT EXISTS turn_prices (model TEXT PRIMARY KEY, input REAL, output REAL, w5 REAL, w1 REAL, r REAL,
    threshold INTEGER, input_hi REAL, output_hi REAL, w5_hi REAL, w1_hi REAL, r_hi REAL)`);
  db.run("DELETE FROM temp.turn_prices");
  const insert = db.prepare("INSERT INTO temp.turn_prices VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  const unpriced: string[] = [];
  // the models of the whole index (a scan of the models table's keys), or those a caller names
  models ??= (db.query("SELECT id FROM models").all() as Array<{ id: string }>).map((m) => m.id);
  for (const model of models) {
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
export const COST_SQL = `coalesce(sum(${[
  tiered("input_tokens", "input"), tiered("output_tokens", "output"), tiered("cache_write_5m_tokens", "w5"), tiered("cache_write_1h_tokens", "w1"), tiered("cache_read_tokens", "r"),
].join(" + ")}) / 1e6, 0)`;

export const SUMS_SQL = `count(*) AS calls, sum(t.input_tokens) AS i, sum(t.output_tokens) AS o, sum(t.cache_write_5m_tokens + t.cache_write_1h_tokens) AS w, sum(t.cache_read_tokens) AS r, ${COST_SQL} AS cost`;

/** Calls of one model summed over a stretch of time: a 15-minute bucket, or the calls between two instants. */
export interface Bucket {
  key: string;
  model: string;
  calls: number;
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
export function localDate(tz: string): (at: string | null) => string | null {
  const z = zone(tz);
  return (at) => {
    const ms = at ? Date.parse(at) : NaN;
    return Number.isFinite(ms) ? localDateOf(z, ms) : null;
  };
}

const DAY_MS = 86_400_000;
const BUCKET_KEY = /^\d{4}-[01]\d-[0-3]\dT([01]\d|2[0-3]):[0-5]\d$/;

/**
 * A bucket key's start in epoch ms, or NaN for the undated bucket and for any key that is no real
 * 'YYYY-MM-DDTHH:MM' (a hand-edited database): Date.parse alone would read "2025-02-30" as March 2.
 */
export function bucketStart(key: string): number {
  return BUCKET_KEY.test(key) && isCanonical(`${key}:00.000Z`) ? Date.parse(`${key}:00.000Z`) : NaN;
}

/** Two digits of a key, as a number. */
const digits = (k: string, i: number) => (k.charCodeAt(i) - 48) * 10 + k.charCodeAt(i + 1) - 48;

/** bucketStart for keys in time order: a day is checked and parsed once, its buckets by arithmetic. */
export function bucketClock(): (key: string) => number {
  let day = "", dayMs = NaN;
  return (key) => {
    if (!BUCKET_KEY.test(key)) return NaN;
    if (day === "" || !key.startsWith(day)) {
      day = key.slice(0, 10);
      dayMs = bucketStart(`${day}T00:00`);
    }
    return dayMs + digits(key, 11) * 3_600_000 + digits(key, 14) * 60_000;
  };
}


/**
 * A bucket key's local date in `tz`, or null for an undated (or unreadable) key. By arithmetic: a
 * zone's offset changes on a bucket's edge, so in a UTC day whose offset is the same at its first
 * and last bucket every bucket's start moves by that offset, and its date is that of Intl's
 * formatting of its start. Two offsets per UTC day instead of a format per bucket (20,000 buckets
 * took 13-17 ms); a day the offset changes in goes bucket by bucket.
 */
export function bucketDate(tz: string): (key: string) => string | null {
  // the formatter of whole dates is made only when a day the offset changes in needs it
  let formatter: ((at: string | null) => string | null) | null = null;
  const whole = (at: string) => (formatter ??= localDate(tz))(at);
  const { offsetAt } = zone(tz);
  // null: the offset changes that day; "invalid": no such day
  let day = "", d: { offset: number; prev: string; next: string } | null | "invalid" = null;
  return (key) => {
    if (!BUCKET_KEY.test(key)) return null;
    // keys come in time order: a day's offset is worked out once
    if (!key.startsWith(day) || day === "") {
      day = key.slice(0, 10);
      const start = bucketStart(`${day}T00:00`);
      if (!Number.isFinite(start)) d = "invalid";
      else {
        const offset = offsetAt(start);
        const iso = (x: number) => new Date(x).toISOString().slice(0, 10);
        d = offset === offsetAt(start + DAY_MS - 15 * 60_000) ? { offset, prev: iso(start - DAY_MS), next: iso(start + DAY_MS) } : null;
      }
    }
    if (d === "invalid") return null;
    if (d === null) return whole(`${key}:00Z`);
    const local = digits(key, 11) * 3_600_000 + digits(key, 14) * 60_000 + d.offset;
    return local < 0 ? d.prev : local >= DAY_MS ? d.next : day;
  };
}

const emptyBucket = (model: string): Bucket => ({ key: model, model, calls: 0, i: 0, o: 0, w: 0, r: 0, cost: 0 });

export function emptyRow(): ReportRow {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, totalTokens: 0, totalCost: 0, modelsUsed: [], modelBreakdowns: [] };
}

/** Adds a bucket's calls, tokens and cost to a sum of them (a model's, a block's). */
export function addBucket(into: Omit<Bucket, "key" | "model">, b: Bucket) {
  into.calls += b.calls;
  into.i += b.i;
  into.o += b.o;
  into.w += b.w;
  into.r += b.r;
  into.cost += b.cost;
}

export function addTo(row: ReportRow, b: Bucket) {
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

export function totalsOf(rows: ReportRow[]): Omit<ReportRow, "modelsUsed" | "modelBreakdowns"> {
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

/** A usage_buckets row, or the same sums over the calls between two instants. */
const BUCKET_ROW_SQL = `count(*) AS calls, ${["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"]
  .map((c) => `sum(${c}) AS ${c}, sum(max(${c} - ${LONG_CONTEXT_TOKENS}, 0)) AS ${c.replace("_tokens", "")}_above`).join(", ")}`;

interface SessionSums {
  session_id: number;
  reasoning_tokens: number;
  first_at: string | null;
  last_at: string | null;
}

/** One session's calls of one model (UsageReader.sessionUsage). */
export interface SessionBucket extends Bucket {
  sessionId: number;
  firstAt: string | null;
  lastAt: string | null;
  reasoning: number;
}

const settledTables = new WeakMap<Record<string, Price>, boolean>();

/** Whether no price of the table has a long-context threshold but the buckets' (worked out once per table: a status line reads usage three times). */
function tableAtBucketThreshold(prices: Record<string, Price>): boolean {
  let settled = settledTables.get(prices);
  if (settled === undefined) {
    settled = true;
    for (const name in prices) {
      const threshold = prices[name]?.threshold;
      if (threshold !== undefined && threshold !== LONG_CONTEXT_TOKENS) {
        settled = false;
        break;
      }
    }
    settledTables.set(prices, settled);
  }
  return settled;
}

/**
 * Usage with its cost, two ways that agree: sums with their parts past the 200k threshold priced
 * in JS (bucketCost: the buckets are summed at that threshold), or, when a price table puts the
 * threshold elsewhere, each turn priced in SQL (COST_SQL). The reports and the blocks read usage
 * only through this, so a block and a day cost the same for the same calls.
 */
export class UsageReader {
  private readonly priceByModel = new Map<string, Price | null>();
  /** Whether the buckets' sums price right: every model met has no threshold or the buckets' 200k. */
  private bySums: boolean | undefined;
  private turnPricesLoaded = false;
  private between_: Statement | null = null;

  /** With --project or --agent: the condition on turns that keeps the chosen sessions' calls. */
  private readonly only: string;

  constructor(private readonly db: Database, private readonly prices: Record<string, Price>, sessions: number[] | null = null) {
    // the table settles it when none of its prices has another threshold; else the models met do
    if (tableAtBucketThreshold(prices)) this.bySums = true;
    this.only = sessions ? chooseSessions(db, sessions) : "";
  }

  private atBucketThreshold(p: Price | null): boolean {
    return p?.threshold === undefined || p.threshold === LONG_CONTEXT_TOKENS;
  }

  /** Whether the buckets' sums alone price this database's calls (else each call is priced from the turns). */
  pricesFromBuckets(): boolean {
    return this.sumsPriceRight(() => (this.db.query("SELECT DISTINCT model FROM usage_buckets").all() as Array<{ model: string }>).map((r) => r.model));
  }

  private sumsPriceRight(models: () => Iterable<string>): boolean {
    if (this.bySums === undefined) {
      this.bySums = true;
      for (const m of models()) if (!this.atBucketThreshold(this.priceOf(m))) this.bySums = false;
    }
    return this.bySums;
  }

  private priceOf(model: string): Price | null {
    let p = this.priceByModel.get(model);
    if (p === undefined) this.priceByModel.set(model, (p = model === "unknown" ? null : priceOf(model, this.prices)));
    return p;
  }

  private fromRow(key: string, u: UsageBucket & { calls: number }): Bucket {
    return {
      key, model: u.model, calls: u.calls, i: u.input_tokens, o: u.output_tokens, w: u.cache_write_5m_tokens + u.cache_write_1h_tokens, r: u.cache_read_tokens,
      cost: bucketCost(u, this.priceOf(u.model)),
    };
  }

  private turnPrices() {
    if (!this.turnPricesLoaded) for (const m of loadTurnPrices(this.db, this.prices)) this.priceByModel.set(m, null);
    this.turnPricesLoaded = true;
  }

  /**
   * Every 15-minute bucket (key `YYYY-MM-DDTHH:MM`, UTC; '' for undated calls) and model, in time
   * order; with `from` (a key), those from it on.
   */
  buckets(from = ""): Bucket[] {
    if (this.bySums !== false && !this.only) {
      const rows = this.db.query("SELECT * FROM usage_buckets WHERE bucket >= ? ORDER BY bucket, model").all(from) as Array<UsageBucket & { calls: number }>;
      if (this.sumsPriceRight(() => new Set(rows.map((u) => u.model)))) return rows.map((u) => this.fromRow(u.bucket, u));
    }
    this.turnPrices();
    return this.db
      .query(
        `SELECT ${BUCKET_SQL("t.at")} AS key, coalesce(t.model, 'unknown') AS model, ${SUMS_SQL}
         FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model WHERE t.at >= ?1${this.only} GROUP BY key, t.model ORDER BY key, t.model`,
      )
      .all(from) as Bucket[];
  }

  /** The calls from `from` to `to`, both included (canonical UTC times), per model; key is `from`. */
  between(from: string, to: string): Bucket[] {
    const models = () => (this.db.query("SELECT DISTINCT model FROM usage_buckets").all() as Array<{ model: string }>).map((r) => r.model);
    if (this.sumsPriceRight(models)) {
      // turns_usage_by_at covers at, model and the counts: a range of the index, no table reads
      this.between_ ??= this.db.query(`SELECT coalesce(model, 'unknown') AS model, ${BUCKET_ROW_SQL} FROM turns t WHERE at >= ?1 AND at <= ?2${this.only} GROUP BY 1`);
      return (this.between_.all(from, to) as Array<UsageBucket & { calls: number }>).map((u) => this.fromRow(from, u));
    }
    this.turnPrices();
    return (this.db
      .query(`SELECT coalesce(t.model, 'unknown') AS model, ${SUMS_SQL} FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model WHERE t.at >= ?1 AND t.at <= ?2${this.only} GROUP BY 1`)
      .all(from, to) as Bucket[]).map((b) => ({ ...b, key: from }));
  }

  /**
   * Each session's calls per model (`key` is the session's id), with their first and last time
   * and reasoning tokens: of the sessions `ids` names, or of every session. From session_usage, a
   * few rows per session, when its sums price right; else each call priced from the turns.
   */
  sessionUsage(ids: number[] | null): SessionBucket[] {
    const where = ids ? " WHERE session_id IN (SELECT value FROM json_each(?1))" : "";
    const args = ids ? [JSON.stringify(ids)] : [];
    if (this.bySums !== false) {
      const rows = this.db.query(`SELECT * FROM session_usage${where}`).all(...args) as Array<UsageBucket & SessionSums & { calls: number }>;
      if (this.sumsPriceRight(() => new Set(rows.map((u) => u.model)))) {
        return rows.map((u) => ({ ...this.fromRow(String(u.session_id), u), sessionId: u.session_id, firstAt: u.first_at, lastAt: u.last_at, reasoning: u.reasoning_tokens }));
      }
    }
    this.turnPrices();
    return this.db
      .query(
        `SELECT t.session_id AS sessionId, t.session_id AS key, coalesce(t.model, 'unknown') AS model, min(t.at) AS firstAt, max(t.at) AS lastAt,
                coalesce(sum(t.reasoning_tokens), 0) AS reasoning, ${SUMS_SQL}
         FROM turns t LEFT JOIN temp.turn_prices p ON p.model = t.model${where.replace("session_id", "t.session_id")} GROUP BY 1, 3`,
      )
      .all(...args) as SessionBucket[];
  }

  /** The 15-minute buckets that have calls, newest first, up to `to` (a key): for finding where the recent blocks begin. */
  recentKeys(to: string): Iterable<string> {
    const q = this.only
      ? this.db.query(`SELECT DISTINCT ${BUCKET_SQL("t.at")} AS k FROM turns t WHERE t.at <= ?1 || 'Z' AND t.at <> ''${this.only} ORDER BY k DESC`)
      : this.db.query("SELECT DISTINCT bucket AS k FROM usage_buckets WHERE bucket <= ?1 AND bucket <> '' ORDER BY bucket DESC");
    return (function* () {
      for (const r of q.iterate(to) as Iterable<{ k: string }>) yield r.k;
    })();
  }

  /** The models met so far that have no price (named under every report). */
  unpriced(): string[] {
    return [...this.priceByModel].filter(([m, p]) => p === null && m !== "unknown").map(([m]) => m).sort();
  }
}

/** Puts the session ids a filter chose where the usage SQL reads them; the condition that does. */
export function chooseSessions(db: Database, ids: number[]): string {
  db.run("CREATE TEMP TABLE IF NOT EXISTS chosen_sessions (id INTEGER PRIMARY KEY)");
  db.run("DELETE FROM temp.chosen_sessions");
  const insert = db.prepare("INSERT INTO temp.chosen_sessions VALUES (?)");
  db.transaction(() => ids.forEach((id) => insert.run(id)))();
  return " AND t.session_id IN (SELECT id FROM temp.chosen_sessions)";
}

/** The first day of the week `date` (YYYY-MM-DD) is in, for weeks that start on `start` (0 Sunday). */
export function weekOf(date: string, start: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`);
  const shift = (new Date(ms).getUTCDay() - start + 7) % 7;
  return new Date(ms - shift * 86_400_000).toISOString().slice(0, 10);
}

const PERIOD_FIELD = { daily: "date", weekly: "week", monthly: "month" } as const;

/**
 * `daily`, `weekly` or `monthly`: ccusage's field names, so its consumers read ours unchanged. A
 * week is named by its first day, as ccusage names it; --since and --until choose days, so the
 * first and last weeks may be partial, as in ccusage. Calls without a time are `undated`, apart
 * from the periods, and in the totals unless --since or --until chose days.
 */
export function periodReport(db: Database, period: keyof typeof PERIOD_FIELD, o: ReportOptions) {
  const reader = new UsageReader(db, o.prices, o.sessions);
  const buckets = reader.buckets();
  const toDate = bucketDate(o.tz);
  const rows = new Map<string, ReportRow>();
  let undated: ReportRow | null = null;
  const chosen = o.since !== undefined || o.until !== undefined;
  const keyOf = (date: string) => (period === "daily" ? date : period === "monthly" ? date.slice(0, 7) : weekOf(date, o.startOfWeek ?? 0));
  let lastDate = "", row: ReportRow | undefined;
  for (const b of buckets) {
    const date = toDate(b.key);
    if (date === null) {
      if (!chosen) addTo((undated ??= emptyRow()), b);
      continue;
    }
    if ((o.since && date < o.since) || (o.until && date > o.until)) continue;
    // the buckets come in time order: a day's row is looked up once, not once per bucket
    if (date !== lastDate || !row) {
      const key = keyOf(date);
      row = rows.get(key);
      if (!row) rows.set(key, (row = emptyRow()));
      lastDate = date;
    }
    addTo(row, b);
  }
  const list = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, row]) => ({ [PERIOD_FIELD[period]]: key, ...row }));
  const totals = totalsOf([...(list as unknown as ReportRow[]), ...(undated ? [undated] : [])]);
  const models = new Set(buckets.map((b) => b.model));
  return { [period]: list, undated, totals, unpricedModels: reader.unpriced(), approximatePrices: approximatePrices(models, o.prices) };
}

/** Tokens and cost per model of some sessions (a session and its subagents, for `show`), most calls first. */
export function usageOfSessions(db: Database, sessionIds: number[], prices: Record<string, Price>): { models: Bucket[]; unpricedModels: string[] } {
  const reader = new UsageReader(db, prices);
  const byModel = new Map<string, Bucket>();
  for (const b of reader.sessionUsage(sessionIds)) {
    let m = byModel.get(b.model);
    if (!m) byModel.set(b.model, (m = emptyBucket(b.model)));
    addBucket(m, b);
  }
  return { models: [...byModel.values()].sort((a, b) => b.calls - a.calls || byText(a.model, b.model)), unpricedModels: reader.unpriced() };
}

/**
 * `models`: each model's calls, tokens and cost. Without --since and --until, from session_usage
 * (the chosen sessions' rows, or all); with them, from the turns of those UTC dates.
 */
export function modelsReport(db: Database, o: ReportOptions) {
  if (o.since === undefined && o.until === undefined) return modelsFromSessionUsage(db, o);
  const unpriced = loadTurnPrices(db, o.prices);
  const rows = db
    .query(
      `SELECT m.id AS modelName, m.provider, m.family, m.first_seen AS firstSeen, m.last_seen AS lastSeen, m.calls,
              sum(t.input_tokens) AS inputTokens, sum(t.output_tokens) AS outputTokens, sum(t.cache_write_5m_tokens + t.cache_write_1h_tokens) AS cacheCreationTokens,
              sum(t.cache_read_tokens) AS cacheReadTokens, sum(t.reasoning_tokens) AS reasoningTokens, ${COST_SQL} AS totalCost
       FROM models m JOIN turns t ON t.model = m.id LEFT JOIN temp.turn_prices p ON p.model = t.model
       WHERE (?1 IS NULL OR substr(t.at, 1, 10) >= ?1) AND (?2 IS NULL OR substr(t.at, 1, 10) <= ?2)${o.sessions ? chooseSessions(db, o.sessions) : ""}
       GROUP BY m.id ORDER BY totalCost DESC, calls DESC`,
    )
    .all(o.since ?? null, o.until ?? null) as Array<Record<string, any>>;
  for (const r of rows) r.totalTokens = r.inputTokens + r.outputTokens + r.cacheCreationTokens + r.cacheReadTokens;
  return { models: rows, totals: totalsOf(rows as any), unpricedModels: unpriced, approximatePrices: approximatePrices(rows.map((r) => r.modelName), o.prices) };
}

interface ModelInfo {
  modelName: string;
  provider: string;
  family: string;
  firstSeen: string | null;
  lastSeen: string | null;
  calls: number;
}

function modelsFromSessionUsage(db: Database, o: ReportOptions) {
  const reader = new UsageReader(db, o.prices);
  const info = new Map((db.query("SELECT id AS modelName, provider, family, first_seen AS firstSeen, last_seen AS lastSeen, calls FROM models").all() as ModelInfo[]).map((m) => [m.modelName, m]));
  const sums = new Map<string, Bucket & { reasoning: number }>();
  for (const b of reader.sessionUsage(o.sessions ?? null)) {
    if (!info.has(b.model)) continue; // 'unknown': calls without a model are no model's
    let m = sums.get(b.model);
    if (!m) sums.set(b.model, (m = { ...emptyBucket(b.model), reasoning: 0 }));
    addBucket(m, b);
    m.reasoning += b.reasoning;
  }
  const list = [...sums.values()].map((m) => ({
    ...info.get(m.model)!, inputTokens: m.i, outputTokens: m.o, cacheCreationTokens: m.w, cacheReadTokens: m.r, reasoningTokens: m.reasoning, totalCost: m.cost,
    totalTokens: m.i + m.o + m.w + m.r,
  })).sort((a, b) => b.totalCost - a.totalCost || b.calls - a.calls);
  const unpriced = [...info.keys()].filter((m) => !priceOf(m, o.prices));
  return { models: list, totals: totalsOf(list as any), unpricedModels: unpriced, approximatePrices: approximatePrices(list.map((r) => r.modelName), o.prices) };
}
