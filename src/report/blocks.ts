// The 5-hour blocks, as ccusage defines them (its _session-blocks / blocks.rs): a block starts at
// its first call's time floored to the UTC hour and lasts the session length; a call more than the
// session length after the block's start, or more than that after the call before it, starts the
// next block, and a silence longer than the session length is a gap block. The active block gets
// a burn rate and a projection to its end.
//
// Read from the index at bucket speed: the walk goes over the 15-minute buckets of usage_buckets
// (a block starts on an hour and, with a session length in quarter hours, ends on a bucket's
// start, so a bucket lies inside one block), and reads turns only at the edges, through the index
// on `at`: the calls of a bucket that holds a block's end (those at the very instant of the end
// belong to the block), and the times shown: each block's last call (actualEndTime), the calls
// around a gap, the active block's first call. Summing every call per block instead took 70-170 ms
// on the 98,000 turns of the benchmark corpus.

import type { Database, Statement } from "bun:sqlite";
import { isCanonical } from "../deep-index/timestamps";
import { approximatePrices, type ApproximatePrice, type Price } from "./prices";
import { addBucket, bucketClock, UsageReader, type Bucket } from "./reports";
import { localDateOf, zone } from "../runtime/zone";
import { byText } from "../runtime/words";

const SLOT_MS = 15 * 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** ccusage's --recent: blocks that started in the last 3 days, and the active one. */
export const RECENT_DAYS = 3;
/** A projection past this share of the token limit is a warning (ccusage's 0.8). */
export const WARNING_SHARE = 0.8;

export interface BlockOptions {
  prices: Record<string, Price>;
  tz: string;
  since?: string; // YYYY-MM-DD, local: a block is chosen by the day it starts on, as in ccusage
  until?: string;
  /** Hours, at least 1 (default 5). */
  sessionHours: number;
  /** The time that decides which block is active and how long it has left (the CLI passes Date.now()). */
  now: number;
  recent?: boolean;
  active?: boolean;
  /** Only these sessions' calls (--project, --agent). */
  sessions?: number[] | null;
  /** Tokens, or "max": the largest block before the active one. */
  tokenLimit?: number | "max";
}

/** A bucket's sums without its key and model: what a block adds up. */
type Sums = Omit<Bucket, "key" | "model">;

/** A block as the walk finds it; the times of its first and last call are read only when shown. */
interface Block extends Sums {
  startMs: number;
  endMs: number;
  models: string[];
  /** The first and last buckets it has calls in (their start, epoch ms). */
  firstSlot: number;
  lastSlot: number;
  /** Its calls are later than this instant (the previous block's end), or '' for the first block. */
  after: string;
  firstMs?: number;
  /** The model of its first call. */
  firstModel?: string;
  lastMs?: number;
}

interface Gap {
  gap: true;
  prev: Block;
  next: Block;
}

type Item = Block | Gap;

const iso = (ms: number) => new Date(ms).toISOString();
const isGap = (x: Item): x is Gap => "gap" in x;

/** The buckets grouped by time, in time order; undated buckets (and any a hand-edited database made unreadable) apart. */
function slotsOf(buckets: Bucket[]): { slots: Array<{ ms: number; parts: Bucket[] }>; undated: number } {
  const slots: Array<{ ms: number; parts: Bucket[] }> = [];
  let undated = 0;
  let key: string | null = null;
  const startOf = bucketClock();
  for (const b of buckets) {
    // the buckets come in key order: a key is parsed once, not once per model
    if (b.key === key) {
      slots[slots.length - 1]!.parts.push(b);
      continue;
    }
    const ms = startOf(b.key);
    if (!Number.isFinite(ms)) {
      undated += b.calls;
      continue;
    }
    slots.push({ ms, parts: [b] });
    key = b.key;
  }
  return { slots, undated };
}

/**
 * Adds a bucket's calls to a block. Its models are listed in the order of their first calls, as
 * ccusage lists them: the buckets give that order between buckets; models new to the block in the
 * same bucket are put in order by the index afterwards, all at once (Edges.orderModels).
 */
function addTo(block: Block, parts: Bucket[], slotMs: number, after: string, edges: Edges) {
  const added = parts.filter((p) => !block.models.includes(p.model)).map((p) => p.model);
  if (added.length > 1) edges.toOrder.push({ block, from: block.models.length, slotMs, after });
  block.models.push(...added);
  for (const p of parts) addBucket(block, p);
  block.lastSlot = slotMs;
}

/** A bucket's calls less those of `head` (the part that went to the block before), per model. */
function minus(parts: Bucket[], head: Bucket[]): Bucket[] {
  return parts
    .map((p) => {
      const h = head.find((x) => x.model === p.model);
      return h ? { ...p, calls: p.calls - h.calls, i: p.i - h.i, o: p.o - h.o, w: p.w - h.w, r: p.r - h.r, cost: p.cost - h.cost } : p;
    })
    .filter((p) => p.calls > 0);
}

/**
 * The times of blocks' first and last calls, and of models' first calls in a bucket, read from the
 * index on `at` within the bucket that holds them: one at a time while the walk needs one, and
 * many in one statement (json_each) for what the report shows, which saves a crossing into SQLite
 * per block. A stored time that is not canonical (a hand-edited database) counts as the bucket's start.
 */
class Edges {
  // the time and model of the first call, as one value: a scalar subquery gives one column
  private static readonly FIRST = "SELECT at || ' ' || coalesce(model, 'unknown') FROM turns WHERE at > ?1 AND at >= ?2 AND at < ?3 ORDER BY at LIMIT 1";
  private static readonly LAST = "SELECT max(at) FROM turns WHERE at >= ?1 AND at < ?2 AND at <= ?3";
  // in time order, stopping at the model's first call: no index leads with the model, and
  // grouping a bucket by model read every call of a busy one
  private static readonly MODEL = "SELECT at FROM turns WHERE at > ?1 AND at >= ?2 AND at < ?3 AND coalesce(model, 'unknown') = ?4 ORDER BY at LIMIT 1";
  private readonly first: Statement;
  private readonly last: Statement;
  /** Blocks whose models from `from` on came new in one bucket, to be put in the order of their first calls. */
  readonly toOrder: Array<{ block: Block; from: number; slotMs: number; after: string }> = [];

  constructor(private readonly db: Database) {
    this.first = db.query(Edges.FIRST);
    this.last = db.query(Edges.LAST);
  }
  private static ms(at: unknown, fallback: number): number {
    return typeof at === "string" && isCanonical(at) ? Date.parse(at) : fallback;
  }
  private static firstArgs = (b: Block) => [b.after, iso(b.firstSlot), iso(b.firstSlot + SLOT_MS)];
  private static lastArgs = (b: Block) => [iso(b.lastSlot), iso(b.lastSlot + SLOT_MS), iso(b.endMs)];

  /**
   * The answers to one query for many argument lists, in their order. The arguments are taken out
   * of the JSON once (MATERIALIZED): in the subquery they would be read out of it at every row.
   */
  private batch(sql: string, args: string[][]): unknown[] {
    if (!args.length) return [];
    const n = args[0]!.length;
    const columns = Array.from({ length: n }, (_, i) => `value ->> ${i} AS a${i + 1}`).join(", ");
    const query = `WITH q AS MATERIALIZED (SELECT key, ${columns} FROM json_each(?1)) SELECT (${sql.replace(/\?(\d)/g, "q.a$1")}) FROM q ORDER BY q.key`;
    return (this.db.query(query).values(JSON.stringify(args)) as unknown[][]).map((r) => r[0]);
  }

  private setFirst(b: Block, value: unknown) {
    const [at, model] = typeof value === "string" ? [value.slice(0, value.indexOf(" ")), value.slice(value.indexOf(" ") + 1)] : [null, undefined];
    b.firstMs = Edges.ms(at, b.firstSlot);
    b.firstModel = model;
  }
  firstOf(b: Block): number {
    if (b.firstMs === undefined) this.setFirst(b, (this.first.values(...Edges.firstArgs(b)) as unknown[][])[0]?.[0]);
    return b.firstMs!;
  }
  lastOf(b: Block): number {
    return (b.lastMs ??= Edges.ms((this.last.values(...Edges.lastArgs(b)) as unknown[][])[0]?.[0], b.lastSlot));
  }
  /** Reads the first and last calls of many blocks at once. */
  prefetch(firsts: Block[], lasts: Block[]) {
    const f = firsts.filter((b) => b.firstMs === undefined), l = lasts.filter((b) => b.lastMs === undefined);
    this.batch(Edges.FIRST, f.map(Edges.firstArgs)).forEach((v, i) => this.setFirst(f[i]!, v));
    this.batch(Edges.LAST, l.map(Edges.lastArgs)).forEach((at, i) => (l[i]!.lastMs = Edges.ms(at, l[i]!.lastSlot)));
  }
  /**
   * Puts the models that came new to a block in one bucket in the order of their first calls (ties
   * by name). In a block's first bucket its first call names the first of them, which settles the
   * usual pair (the main model and a small one); other models are looked up one by one.
   */
  orderModels() {
    const opening = (t: (typeof this.toOrder)[number]) => t.from === 0 && t.slotMs === t.block.firstSlot;
    this.prefetch(this.toOrder.filter(opening).map((t) => t.block), []);
    const rest = this.toOrder.map((t) => {
      const models = t.block.models.slice(t.from);
      const lead = opening(t) && models.includes(t.block.firstModel!) ? t.block.firstModel! : null;
      return { t, lead, others: lead === null ? models : models.filter((m) => m !== lead) };
    });
    const asks = rest.flatMap(({ t, others }) => (others.length > 1 ? others.map((m) => [t.after, iso(t.slotMs), iso(t.slotMs + SLOT_MS), m]) : []));
    const at = this.batch(Edges.MODEL, asks).map((x) => String(x ?? ""));
    let k = 0;
    for (const { t, lead, others } of rest) {
      const timed = others.map((m) => ({ m, at: others.length > 1 ? at[k++]! : "" }));
      timed.sort((a, b) => byText(a.at, b.at) || byText(a.m, b.m));
      t.block.models.splice(t.from, timed.length + (lead ? 1 : 0), ...(lead ? [lead] : []), ...timed.map((x) => x.m));
    }
  }
}

/**
 * Whether the silence between two blocks is longer than the session length: from the buckets
 * when they settle it (almost always), else from the two calls' times.
 */
function isGapBetween(prev: Block, next: Block, duration: number, edges: Edges): boolean {
  const latestLast = Math.min(prev.lastSlot + SLOT_MS - 1, prev.endMs);
  if (next.firstSlot - latestLast > duration) return true;
  if (next.firstSlot + SLOT_MS - 1 - prev.lastSlot <= duration) return false;
  return edges.firstOf(next) - edges.lastOf(prev) > duration;
}

/** Every block and gap, in time order: the walk over the buckets. */
function walk(reader: UsageReader, slots: Array<{ ms: number; parts: Bucket[] }>, duration: number, edges: Edges): Item[] {
  const items: Item[] = [];
  let cur: Block | null = null;
  for (const slot of slots) {
    let parts = slot.parts;
    if (cur && slot.ms + SLOT_MS <= cur.endMs) {
      addTo(cur, parts, slot.ms, "", edges);
      continue;
    }
    if (cur && slot.ms <= cur.endMs) {
      // the bucket holds the block's end: its calls up to that instant, included, are the block's
      const head = reader.between(iso(slot.ms), iso(cur.endMs));
      if (head.length) addTo(cur, head, slot.ms, "", edges);
      parts = minus(parts, head);
      if (!parts.length) continue;
    }
    const startMs = Math.floor(slot.ms / HOUR_MS) * HOUR_MS;
    const after = cur ? iso(cur.endMs) : "";
    const next: Block = { startMs, endMs: startMs + duration, calls: 0, i: 0, o: 0, w: 0, r: 0, cost: 0, models: [], firstSlot: slot.ms, lastSlot: slot.ms, after };
    addTo(next, parts, slot.ms, after, edges);
    if (cur && isGapBetween(cur, next, duration, edges)) items.push({ gap: true, prev: cur, next });
    items.push(next);
    cur = next;
  }
  return items;
}

/** ccusage's blocks --json fields for a block or a gap. */
export interface BlockJson {
  id: string;
  startTime: string;
  endTime: string;
  actualEndTime: string | null;
  isActive: boolean;
  isGap: boolean;
  entries: number;
  tokenCounts: { inputTokens: number; outputTokens: number; cacheCreationInputTokens: number; cacheReadInputTokens: number };
  totalTokens: number;
  costUSD: number;
  models: string[];
  burnRate: { tokensPerMinute: number; tokensPerMinuteForIndicator: number; costPerHour: number } | null;
  projection: { totalTokens: number; totalCost: number; remainingMinutes: number } | null;
  tokenLimitStatus?: { limit: number; projectedUsage: number; percentUsed: number; status: "ok" | "warning" | "exceeds" };
}

const total = (s: Sums) => s.i + s.o + s.w + s.r;

function gapJson(g: Gap, duration: number, edges: Edges): BlockJson {
  const start = edges.lastOf(g.prev) + duration;
  return {
    id: `gap-${iso(start)}`, startTime: iso(start), endTime: iso(edges.firstOf(g.next)), actualEndTime: null, isActive: false, isGap: true, entries: 0,
    tokenCounts: { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 }, totalTokens: 0, costUSD: 0, models: [], burnRate: null, projection: null,
  };
}

/**
 * The active block's burn rate (its tokens and cost over the minutes from its first call to its
 * last) and where that rate takes it by the block's end; null when its calls span no time.
 */
function burnAndProjection(b: Block, now: number, edges: Edges): Pick<BlockJson, "burnRate" | "projection"> {
  const minutes = (edges.lastOf(b) - edges.firstOf(b)) / 60_000;
  if (!(minutes > 0)) return { burnRate: null, projection: null };
  const burnRate = { tokensPerMinute: total(b) / minutes, tokensPerMinuteForIndicator: (b.i + b.o) / minutes, costPerHour: (b.cost / minutes) * 60 };
  const remainingMinutes = Math.max(0, Math.round((b.endMs - now) / 60_000));
  const projection = {
    totalTokens: Math.round(total(b) + burnRate.tokensPerMinute * remainingMinutes),
    // to the cent, as ccusage gives it
    totalCost: Math.round((b.cost + (burnRate.costPerHour / 60) * remainingMinutes) * 100) / 100,
    remainingMinutes,
  };
  return { burnRate, projection };
}

function limitStatus(projected: number, limit: number): NonNullable<BlockJson["tokenLimitStatus"]> {
  const status = projected > limit ? "exceeds" : projected > limit * WARNING_SHARE ? "warning" : "ok";
  return { limit, projectedUsage: projected, percentUsed: (projected / limit) * 100, status };
}

function blockJson(b: Block, active: boolean, limit: number | null, now: number, edges: Edges): BlockJson {
  const { burnRate, projection } = active ? burnAndProjection(b, now, edges) : { burnRate: null, projection: null };
  const json: BlockJson = {
    id: iso(b.startMs), startTime: iso(b.startMs), endTime: iso(b.endMs), actualEndTime: iso(edges.lastOf(b)), isActive: active, isGap: false, entries: b.calls,
    tokenCounts: { inputTokens: b.i, outputTokens: b.o, cacheCreationInputTokens: b.w, cacheReadInputTokens: b.r },
    totalTokens: total(b), costUSD: b.cost, models: b.models, burnRate, projection,
  };
  if (projection && limit !== null && limit > 0) json.tokenLimitStatus = limitStatus(projection.totalTokens, limit);
  return json;
}

export interface BlocksReport {
  blocks: BlockJson[];
  /** The limit the statuses compare with: the number given, or the largest earlier block for "max". */
  tokenLimit: number | null;
  /** Calls without a usable time: in no block. */
  undatedCalls: number;
  unpricedModels: string[];
  approximatePrices: ApproximatePrice[];
}

/**
 * For --active alone: the first bucket after the last silence longer than the session length
 * (with a bucket's slack) before now. A block starts there whatever came before, since the block
 * before it ended within the silence; the walk can begin there and find the same active block as
 * a walk over all of history, reading minutes of buckets instead of years. '' when no such
 * silence is found: the whole history.
 */
function recentStart(reader: UsageReader, now: number, duration: number): string {
  const clock = bucketClock();
  let later: string | null = null;
  for (const key of reader.recentKeys(iso(now).slice(0, 16))) {
    if (later !== null && clock(later) - clock(key) > duration + SLOT_MS) return later;
    later = key;
  }
  return "";
}

/**
 * `blocks`, with ccusage's filters in its order: --since/--until by the day a block starts on
 * (in --tz), then --recent, then --active. "max" is the largest block that is neither a gap nor
 * active among those the dates chose, taken before --recent and --active: ccusage 20 takes it
 * after them, so `--active --token-limit max` has no limit there.
 */
export function blocksReport(db: Database, o: BlockOptions): BlocksReport {
  const reader = new UsageReader(db, o.prices, o.sessions);
  const duration = Math.trunc(o.sessionHours * HOUR_MS);
  const edges = new Edges(db);
  const from = o.active && o.tokenLimit !== "max" && o.since === undefined && o.until === undefined ? recentStart(reader, o.now, duration) : "";
  const buckets = reader.buckets(from);
  const { slots, undated } = slotsOf(buckets);
  let items = walk(reader, slots, duration, edges);
  edges.orderModels();
  const startOf = (x: Item) => (isGap(x) ? edges.lastOf(x.prev) + duration : x.startMs);
  // a gap starts the session length after the last call before it: read them all at once when filters need it
  if (o.since !== undefined || o.until !== undefined || o.recent) edges.prefetch([], items.filter(isGap).map((g) => g.prev));
  if (o.since !== undefined || o.until !== undefined) {
    const z = zone(o.tz);
    items = items.filter((x) => {
      const d = localDateOf(z, startOf(x));
      return (o.since === undefined || d >= o.since) && (o.until === undefined || d <= o.until);
    });
  }
  // only a block whose end is still ahead can be active; its last call is read only then
  const isActive = (x: Item) => !isGap(x) && o.now < x.endMs && o.now - edges.lastOf(x) < duration;
  const limit = o.tokenLimit === "max" ? items.reduce((m, x) => (isGap(x) || isActive(x) ? m : Math.max(m, total(x))), 0) || null : (o.tokenLimit ?? null);
  if (o.recent) items = items.filter((x) => startOf(x) >= o.now - RECENT_DAYS * DAY_MS || isActive(x));
  if (o.active) items = items.filter(isActive);
  const shown = items.filter((x) => !isGap(x)) as Block[], gaps = items.filter(isGap);
  edges.prefetch([...gaps.map((g) => g.next), ...shown.filter(isActive)], [...shown, ...gaps.map((g) => g.prev)]);
  const blocks = items.map((x) => (isGap(x) ? gapJson(x, duration, edges) : blockJson(x, isActive(x), limit, o.now, edges)));
  return { blocks, tokenLimit: limit, undatedCalls: undated, unpricedModels: reader.unpriced(), approximatePrices: approximatePrices(new Set(buckets.map((b) => b.model)), o.prices) };
}
