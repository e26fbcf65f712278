// Makes src/report/price-data.json, the price table sluice is built with, from the model-price
// dataset the npm package @pydantic/genai-prices ships (docs/dependencies.md says why this one).
// Run by build.ts before every build, so `bun run build.ts` refreshes the snapshot from the
// installed package; nothing at run time imports this file or the package: the binary and
// `bun src/main.ts` read the committed JSON and work offline.
//
// From each model of the first-party providers below it keeps the token prices in dollars per
// million tokens as the Price shape of prices.ts has them: the price in force on the snapshot's
// date (the dataset dates its price changes), the first long-context tier as threshold and
// `above`, and the dataset's own names of the model (its id, and the literal names of its match
// rule) that priceOf looks a model id up by.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ModelInfo, ModelPrice, Provider, TieredPrices } from "@pydantic/genai-prices";
import type { Price, PriceSnapshot, SnapshotModel } from "./prices";
import { normalizeModelName } from "./price-names";

export const PRICE_PACKAGE = "@pydantic/genai-prices";
export const SNAPSHOT_FILE = join(import.meta.dir, "price-data.json");

/**
 * The makers whose own prices sluice carries, first wins when two name the same model: the
 * agents sluice reads (Claude Code, Codex) and the first-party models other coding agents run.
 * Resellers (aws, azure, openrouter...) price the same ids differently and are left out.
 */
export const PROVIDERS = ["anthropic", "openai", "google", "deepseek", "x-ai", "mistral", "moonshotai", "zai"];

type MatchRule = ModelInfo["match"];

/** A name of the dataset in normal form, without the trailing "-" or "." of a prefix rule ("gpt-5-nano-"). */
const datasetName = (s: string) => normalizeModelName(s).replace(/[-.:]+$/, "");

/** The literal names a match rule gives a model: its `equals` and `starts_with` strings. */
function namesOf(rule: MatchRule, out: string[] = []): string[] {
  if ("or" in rule) for (const r of rule.or) namesOf(r, out);
  else if ("equals" in rule) out.push(rule.equals);
  else if ("starts_with" in rule) out.push(rule.starts_with);
  // `and`, `contains`, `ends_with` and `regex` rules name no model id; the id and date stripping cover them
  return out;
}

/** The prices in force on `date`: the last entry whose start date has come (time-of-day discounts skipped). */
function pricesOn(m: ModelInfo, date: string): ModelPrice {
  if (!Array.isArray(m.prices)) return m.prices;
  for (let i = m.prices.length - 1; i >= 0; i--) {
    const c = m.prices[i]!.constraint;
    if (c === undefined || (c.type === "start_date" && c.start_date <= date)) return m.prices[i]!.prices;
  }
  return m.prices[0]!.prices;
}

const isTiered = (v: unknown): v is TieredPrices => typeof v === "object" && v !== null && "base" in v;
const base = (v: ModelPrice[string]): number | undefined => (v === undefined ? undefined : isTiered(v) ? v.base : v);
/** The price of the first tier (the lowest start), or the base when the field has no tiers. */
const tier = (v: ModelPrice[string], start: number): number | undefined =>
  v === undefined ? undefined : isTiered(v) ? ([...v.tiers].sort((a, b) => a.start - b.start).find((t) => t.start === start)?.price ?? v.base) : v;

const round = (n: number) => Math.round(n * 1e9) / 1e9;

/**
 * A dataset price as sluice's Price. A cache price the dataset leaves out costs what an ordinary
 * input token costs (the provider gives no discount), and a 1-hour cache write with no price of
 * its own costs what a 5-minute one does.
 */
export function toPrice(p: ModelPrice): { price: Price; warnings: string[] } | null {
  const warnings: string[] = [];
  const pick = (at: (v: ModelPrice[string]) => number | undefined) => {
    const input = at(p.input_mtok);
    if (input === undefined) return null;
    const cacheWrite5m = at(p.cache_write_mtok) ?? input;
    return {
      input: round(input), output: round(at(p.output_mtok) ?? 0), cacheWrite5m: round(cacheWrite5m),
      cacheWrite1h: round(at(p.cache_write_1h_mtok) ?? cacheWrite5m), cacheRead: round(at(p.cache_read_mtok) ?? input),
    };
  };
  const flat = pick(base);
  if (!flat || p.output_mtok === undefined) return null;
  const fields = [p.input_mtok, p.output_mtok, p.cache_write_mtok, p.cache_write_1h_mtok, p.cache_read_mtok].filter(isTiered);
  const starts = [...new Set(fields.flatMap((f) => f.tiers.map((t) => t.start)))].sort((a, b) => a - b);
  if (!starts.length) return { price: flat, warnings };
  if (starts.length > 1) warnings.push(`tiers at ${starts.join(", ")} tokens: only the first, ${starts[0]}, is kept`);
  const above = pick((v) => tier(v, starts[0]!))!;
  return { price: { ...flat, threshold: starts[0]!, above }, warnings };
}

/** The snapshot of the installed package's data, with its prices as of `date` (YYYY-MM-DD). */
export function snapshotOf(providers: Provider[], version: string, date: string): { snapshot: PriceSnapshot; warnings: string[] } {
  const models: SnapshotModel[] = [];
  const taken = new Set<string>();
  const warnings: string[] = [];
  for (const provider of providers) {
    for (const m of provider.models) {
      const made = toPrice(pricesOn(m, date));
      if (!made) continue; // not priced per token (images, audio, searches)
      for (const w of made.warnings) warnings.push(`${provider.id}/${m.id}: ${w}`);
      const id = datasetName(m.id);
      const names = [...new Set([id, ...namesOf(m.match).map(datasetName)])].filter((n) => n && !/-(19|20)\d{2}(\d{2})?$/.test(n) && !taken.has(n));
      if (!names.includes(id)) {
        // the same model sold again by a later provider (Google's Vertex sells Claude): the maker's price stays
        if (!taken.has(id)) warnings.push(`${provider.id}/${m.id}: no name of its own; left out`);
        continue;
      }
      for (const n of names) taken.add(n);
      models.push({ id, provider: provider.id, names: names.filter((n) => n !== id).sort(), price: made.price });
    }
  }
  models.sort((a, b) => PROVIDERS.indexOf(a.provider) - PROVIDERS.indexOf(b.provider) || a.id.localeCompare(b.id));
  return { snapshot: { source: { package: PRICE_PACKAGE, version, date }, models }, warnings };
}

/** The snapshot as a file: one model a line, so that a price change is a one-line diff. */
export function snapshotText(s: PriceSnapshot): string {
  return `{"source":${JSON.stringify(s.source)},"models":[\n${s.models.map((m) => JSON.stringify(m)).join(",\n")}\n]}\n`;
}

/**
 * Refreshes price-data.json from the installed package. The date stays while the version does (the
 * snapshot of one version is the same on any day); a new version is dated today. Returns what
 * happened, in a line; without the package installed, the committed snapshot stays.
 */
export async function refreshPriceSnapshot(today = new Date().toISOString().slice(0, 10)): Promise<string> {
  let pkgDir: string;
  try {
    pkgDir = dirname(dirname(Bun.resolveSync(PRICE_PACKAGE, import.meta.dir)));
  } catch {
    return `warning: ${PRICE_PACKAGE} is not installed (bun install); the committed price snapshot is used as it is`;
  }
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const { findProvider } = await import(PRICE_PACKAGE);
  const providers = PROVIDERS.map((id) => findProvider({ providerId: id }) as Provider | undefined).filter((p): p is Provider => p?.id !== undefined);
  let old: PriceSnapshot | null = null;
  try {
    old = JSON.parse(readFileSync(SNAPSHOT_FILE, "utf8")) as PriceSnapshot;
  } catch {}
  const date = old?.source.version === version ? old.source.date : today;
  const { snapshot, warnings } = snapshotOf(providers, version, date);
  const text = snapshotText(snapshot);
  const same = old !== null && snapshotText(old) === text;
  if (!same) writeFileSync(SNAPSHOT_FILE, text);
  const notes = warnings.length ? `; ${warnings.join("; ")}` : "";
  return `prices: ${PRICE_PACKAGE} ${version} of ${date}, ${snapshot.models.length} models${same ? " (snapshot unchanged)" : ", snapshot written"}${notes}`;
}
