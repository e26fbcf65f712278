// The price table that costs are computed from, in US dollars per million tokens: the snapshot of
// a maintained dataset (price-data.json, made by price-snapshot.ts from @pydantic/genai-prices at
// build time, committed, embedded in the binary: it works offline), a short list of overrides
// where the dataset has a gap, and `--prices FILE` laid over both.
//
// A model id is looked up by its own name (exact), or else by the longest shorter family prefix
// of it ("claude-opus-4-9" by "claude-opus-4"): a price that is only an approximation, which
// matchPrice says so that a report can say it.

import { readFileSync } from "node:fs";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
// As text, read with JSON.parse at start-up rather than evaluated as the bundle's object literal
// (1.5 ms of the status line's start in a CPU profile; about 2% of its whole process measured,
// docs/benchmarks.md, "Smaller changes").
import snapshotText from "./price-data.json" with { type: "text" };
import { normalizeModelName, withoutDate } from "./price-names";
import { byText } from "../runtime/words";

export interface Price {
  input: number;
  output: number;
  /** Cache writes with the default 5-minute lifetime (1.25x input for Anthropic). */
  cacheWrite5m: number;
  /** Cache writes with a 1-hour lifetime (2x input for Anthropic). */
  cacheWrite1h: number;
  cacheRead: number;
  /** Per token type, tokens of one request past this many are charged at the `above` prices. */
  threshold?: number;
  above?: Omit<Price, "threshold" | "above">;
}

/** One model of the snapshot: its id, the dataset's other names for it, and its price. */
export interface SnapshotModel {
  id: string;
  provider: string;
  names: string[];
  price: Price;
}

export interface PriceSnapshot {
  /** The npm package the prices come from, its version, and the day the snapshot was taken. */
  source: { package: string; version: string; date: string };
  models: SnapshotModel[];
}

/** Where a model's price in the table in use comes from. */
export type PriceOrigin = "dataset" | "override" | "file";
export interface PricedModel extends SnapshotModel {
  origin: PriceOrigin;
}

const SNAPSHOT = JSON.parse(snapshotText as unknown as string) as PriceSnapshot;
export const PRICE_SOURCE = SNAPSHOT.source;
/** The day the built-in prices were taken from the dataset. */
export const PRICES_DATE = PRICE_SOURCE.date;

const anthropic = (input: number, output: number): Omit<Price, "threshold" | "above"> => ({ input, output, cacheWrite5m: input * 1.25, cacheWrite1h: input * 2, cacheRead: input * 0.1 });

/**
 * Where the dataset has a gap, sluice's own entry, each with why. A model the dataset has gets
 * these fields replaced; one it lacks is added (then `names` and a whole price are needed).
 */
export const PRICE_OVERRIDES: Array<{ id: string; names?: string[]; price: Partial<Price>; why: string }> = [
  {
    id: "claude-sonnet-4-0",
    price: { threshold: 200_000, above: anthropic(6, 22.5) },
    why: "Anthropic charged Sonnet 4 requests past 200k input tokens (the 1M-context beta) $6 / $22.50, as for Sonnet 4.5; the dataset carries the tier for Sonnet 4.5 only. LiteLLM, and so ccusage, has it for both.",
  },
];

function builtIn(): PricedModel[] {
  const models: PricedModel[] = SNAPSHOT.models.map((m) => ({ ...m, origin: "dataset" }));
  for (const o of PRICE_OVERRIDES) {
    const m = models.find((x) => x.id === o.id);
    if (m) Object.assign(m, { price: { ...m.price, ...o.price }, origin: "override" });
    else models.push({ id: o.id, provider: "", names: o.names ?? [], price: o.price as Price, origin: "override" });
  }
  return models;
}

/** The built-in table: one entry per model, the snapshot with the overrides applied. */
export const BUILT_IN_MODELS: readonly PricedModel[] = builtIn();

/** Every name of every model -> its price: the table priceOf and the reports read. */
export function pricesByName(models: readonly SnapshotModel[]): Record<string, Price> {
  const out: Record<string, Price> = {};
  for (const m of models) for (const n of [m.id, ...m.names]) out[n] ??= m.price;
  return out;
}

export const DEFAULT_PRICES: Record<string, Price> = pricesByName(BUILT_IN_MODELS);

/** The table in use: where it comes from, the overlay file if any, and its models. */
export interface PriceTable {
  source: PriceSnapshot["source"];
  overlay: string | null;
  models: PricedModel[];
}

/**
 * The built-in table with FILE laid over it: a key that names a model of the table (its id or
 * another name of it) replaces that model's price, under all its names; any other key adds a model.
 */
export function priceTable(file?: string): PriceTable {
  const models = BUILT_IN_MODELS.map((m) => ({ ...m }));
  if (file) {
    const byName = new Map<string, PricedModel>();
    for (const m of models) for (const n of [m.id, ...m.names]) if (!byName.has(n)) byName.set(n, m);
    for (const [key, price] of Object.entries(readPriceFile(file))) {
      const m = byName.get(key);
      if (m) Object.assign(m, { price, origin: "file" });
      else models.push({ id: key, provider: "", names: [], price, origin: "file" });
    }
  }
  return { source: PRICE_SOURCE, overlay: file ?? null, models };
}

/** The price table for the reports: the built-in one, with `--prices FILE` laid over it. */
export function loadPrices(file: string | undefined): Record<string, Price> {
  return file ? pricesByName(priceTable(file).models) : DEFAULT_PRICES;
}

const FIELDS = ["input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead"] as const;
const FORMAT = "a JSON object of model id -> {input, output, cacheWrite5m, cacheWrite1h, cacheRead} in dollars per million tokens (and optionally threshold and above: {the same five})";

/** A --prices file, checked: each entry whole, every price a number >= 0; keys in normal form. */
function readPriceFile(file: string): Record<string, Price> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const why = String((err as Error).message).split("\n")[0];
    throw new SluiceError(`cannot read the price file ${file}: ${why}; it must be ${FORMAT}`, EXIT_USAGE);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new SluiceError(`the price file ${file} is not ${FORMAT}`, EXIT_USAGE);
  const out: Record<string, Price> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, any>)) {
    const bad = (what: string) => new SluiceError(`the price file ${file}: "${k}" ${what}; each model needs ${FORMAT}`, EXIT_USAGE);
    const key = normalizeModelName(k);
    if (!key) throw bad("is not a model id");
    for (const f of FIELDS) if (!isPrice(v?.[f])) throw bad(`has no number >= 0 for "${f}"`);
    const price: Price = { input: v.input, output: v.output, cacheWrite5m: v.cacheWrite5m, cacheWrite1h: v.cacheWrite1h, cacheRead: v.cacheRead };
    if (v.threshold !== undefined || v.above !== undefined) {
      if (!Number.isSafeInteger(v.threshold) || v.threshold <= 0) throw bad(`has "above" prices but no whole-number "threshold" > 0 of tokens`);
      for (const f of FIELDS) if (!isPrice(v.above?.[f])) throw bad(`has a "threshold" but no number >= 0 for "above.${f}"`);
      price.threshold = v.threshold;
      price.above = { input: v.above.input, output: v.above.output, cacheWrite5m: v.above.cacheWrite5m, cacheWrite1h: v.above.cacheWrite1h, cacheRead: v.above.cacheRead };
    }
    out[key] = price;
  }
  return out;
}

const isPrice = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0;

/**
 * How a model id found its price:
 * - exact: its own name is in the table (lower case; a provider path or Bedrock prefix, a context
 *   tag such as [1m] and a release date such as -20250514 or -2025-04-14 aside);
 * - prefix: only a shorter family prefix of it is ("claude-opus-4-9" priced as "claude-opus-4"), an
 *   approximation a report should name;
 * - none: no price; the model counts at $0.
 * `key` is the table's name that matched.
 */
export type PriceMatch =
  | { kind: "exact"; key: string; price: Price }
  | { kind: "prefix"; key: string; price: Price }
  | { kind: "none"; key: null; price: null };

const NO_MATCH: PriceMatch = { kind: "none", key: null, price: null };

export function matchPrice(model: string, prices: Record<string, Price>): PriceMatch {
  const name = normalizeModelName(model);
  const bare = withoutDate(name);
  for (const key of [name, bare]) if (key && Object.hasOwn(prices, key)) return { kind: "exact", key, price: prices[key]! };
  for (let i = bare.lastIndexOf("-"); i > 0; i = bare.lastIndexOf("-", i - 1)) {
    const key = bare.slice(0, i);
    if (Object.hasOwn(prices, key)) return { kind: "prefix", key, price: prices[key]! };
  }
  return NO_MATCH;
}

/** The price of a model id, exact or by family prefix (matchPrice says which); null when none. */
export function priceOf(model: string, prices: Record<string, Price>): Price | null {
  return matchPrice(model, prices).price;
}

/** A model priced only by a shorter family prefix of its name, and the entry it was priced as. */
export interface ApproximatePrice {
  model: string;
  pricedAs: string;
}

/** The models among `models` whose price is only their family's: every report names them. */
export function approximatePrices(models: Iterable<string>, prices: Record<string, Price>): ApproximatePrice[] {
  const out: ApproximatePrice[] = [];
  for (const model of new Set(models)) {
    const m = matchPrice(model, prices);
    if (m.kind === "prefix") out.push({ model, pricedAs: m.key! });
  }
  return out.sort((a, b) => byText(a.model, b.model));
}
