// The price table that costs are computed from: public list prices in US dollars per million
// tokens, as of PRICES_DATE. `--prices FILE` replaces it with a JSON object of the same shape.

import { readFileSync } from "node:fs";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";

export const PRICES_DATE = "2026-11-01";

export interface Price {
  input: number;
  output: number;
  /** Cache writes with the default 5-minute lifetime (1.25x input for Anthropic). */
  cacheWrite5m: number;
  /** Cache writes with a 1-hour lifetime: 2x input. */
  cacheWrite1h: number;
  cacheRead: number;
  /** Per token type, tokens of one request past this many are charged at the `above` prices. */
  threshold?: number;
  above?: Omit<Price, "threshold" | "above">;
}

const anthropic = (input: number, output: number): Price => ({ input, output, cacheWrite5m: input * 1.25, cacheWrite1h: input * 2, cacheRead: input * 0.1 });
const openai = (input: number, output: number, cached: number): Price => ({ input, output, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: cached });
const longContext = (p: Price, input: number, output: number): Price => ({ ...p, threshold: 200_000, above: anthropic(input, output) });

/** Keyed by model id prefix; the longest matching prefix wins. */
export const DEFAULT_PRICES: Record<string, Price> = {
  "claude-opus-4-6": anthropic(5, 25),
  "claude-opus-4-5": anthropic(5, 25),
  "claude-opus-4-1": anthropic(15, 75),
  "claude-opus-4": anthropic(15, 75),
  "claude-sonnet-4-5": longContext(anthropic(3, 15), 6, 22.5),
  "claude-sonnet-4": longContext(anthropic(3, 15), 6, 22.5),
  "claude-3-7-sonnet": anthropic(3, 15),
  "claude-3-5-sonnet": anthropic(3, 15),
  "claude-haiku-4-5": anthropic(1, 5),
  "claude-3-5-haiku": anthropic(0.8, 4),
  "claude-3-haiku": anthropic(0.25, 1.25),
  "claude-3-opus": anthropic(15, 75),
  "gpt-5.3": openai(1.75, 14, 0.175),
  "gpt-5.2": openai(1.75, 14, 0.175),
  "gpt-5.1-codex-mini": openai(0.25, 2, 0.025),
  "gpt-5.1": openai(1.25, 10, 0.125),
  "gpt-5-codex": openai(1.25, 10, 0.125),
  "gpt-5-mini": openai(0.25, 2, 0.025),
  "gpt-5-nano": openai(0.05, 0.4, 0.005),
  "gpt-5": openai(1.25, 10, 0.125),
  "gpt-4.1": openai(2, 8, 0.5),
  "o3": openai(2, 8, 0.5),
  "o4-mini": openai(1.1, 4.4, 0.275),
};

export function loadPrices(file: string | undefined): Record<string, Price> {
  if (!file) return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new SluiceError(`cannot read the price file ${file}: ${(err as Error).message}; it must be a JSON object of model prefix -> {input, output, cacheWrite5m, cacheWrite1h, cacheRead} in dollars per million tokens`, EXIT_USAGE);
  }
  if (!parsed || typeof parsed !== "object") throw new SluiceError(`the price file ${file} is not a JSON object of model prefix -> prices; see the README`, EXIT_USAGE);
  for (const [k, v] of Object.entries(parsed as Record<string, any>)) {
    for (const f of ["input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead"]) {
      if (typeof v?.[f] !== "number") throw new SluiceError(`the price file ${file}: "${k}" has no number "${f}"; every model needs input, output, cacheWrite5m, cacheWrite1h and cacheRead`, EXIT_USAGE);
    }
  }
  return parsed as Record<string, Price>;
}

/** The price of a model id: provider prefix, date suffix and context tag ignored; longest prefix wins. */
export function priceOf(model: string, prices: Record<string, Price>): Price | null {
  const id = model.toLowerCase().replace(/^(anthropic|openai)[/.]/, "").replace(/\[.*\]$/, "").replace(/-\d{8}$/, "");
  let best: string | null = null;
  for (const key of Object.keys(prices)) {
    if ((id === key || id.startsWith(`${key}-`)) && (best === null || key.length > best.length)) best = key;
  }
  return best === null ? null : prices[best]!;
}
