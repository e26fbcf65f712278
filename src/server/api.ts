// The JSON under /api/: the reports exactly as `sluice report KIND --json` builds them (the query
// parameters are read as the report's flags, by the same code), `stats --json`, `status --json`,
// and the dashboard's own figures: latency per model from `flows` (tools from `invocations`: tools.ts).

import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { build, KINDS, options, type Kind } from "../report/request";
import { config } from "../runtime/config";
import { tzFlag } from "../report/dates";
import { loadPrices } from "../report/prices";
import { budgetUse } from "../report/budget";
import { readStats } from "../ops/stats";
import { readStatus } from "../ops/status";
import type { Store } from "./store";
import { byText } from "../runtime/words";

/** The flags a report takes, as query parameters; booleans are present or `=1`/`=true`. */
const STRING_PARAMS = ["since", "until", "tz", "project", "agent", "order", "start-of-week", "token-limit", "session-length", "id"];
const BOOLEAN_PARAMS = ["active", "recent", "subagents", "instances", "breakdown"];

/** A request the API cannot answer as asked: 400 with the same one line the CLI prints. */
export class BadRequest extends Error {}

export function argsOf(params: URLSearchParams): Record<string, any> {
  const args: Record<string, any> = {};
  for (const [k, v] of params) {
    if (STRING_PARAMS.includes(k)) args[k] = v;
    else if (BOOLEAN_PARAMS.includes(k)) {
      if (!["", "1", "true", "0", "false"].includes(v)) throw new BadRequest(`${k}=${v}: use ${k}=1 or leave it out`);
      args[k] = v === "" || v === "1" || v === "true";
    } else throw new BadRequest(`unknown parameter '${k}'; a report takes ${[...STRING_PARAMS, ...BOOLEAN_PARAMS].join(", ")}`);
  }
  return args;
}

/** `sluice report KIND --json`, from the same functions. */
export function reportJson(store: Store, kind: string, params: URLSearchParams): unknown {
  if (!(KINDS as readonly string[]).includes(kind)) throw new BadRequest(`unknown report '${kind}'; use one of ${KINDS.join(", ")}`);
  const args = argsOf(params);
  try {
    const o = options(kind as Kind, args);
    // one build per commit for the pages and the API that ask for the same report (5 s at most: today and the active block move)
    return store.memo(`${kind}?${new URLSearchParams([...params].sort()).toString()}`, 5_000, () => build(store.db, kind as Kind, args, o));
  } catch (err) {
    if (err instanceof SluiceError && err.exitCode === EXIT_USAGE) throw new BadRequest(err.message);
    throw err;
  }
}

/** `sluice stats --json`: the verdict, with the config file's budgets beside it. */
export function statsJson(store: Store): unknown {
  return { ...readStats(store.path), budget: budgetOf(store) };
}

export function statusJson(store: Store): unknown {
  return readStatus(store.path);
}

export function budgetOf(store: Store) {
  const budget = config().budget;
  if (!budget || (budget.daily === undefined && budget.monthly === undefined) || !store.hasIndex()) return null;
  return budgetUse(store.db, budget, { prices: loadPrices(config().prices), tz: tzFlag(undefined), now: Date.now() });
}

/** The p-th percentile (0..1) of sorted numbers, nearest rank; null for none. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const FIGURES = { ttftMs: "ttft_ms", outputTokensPerSecond: "output_tokens_per_s", durationMs: "duration_ms" } as const;
type Figure = keyof typeof FIGURES;
type Spread = { p50: number | null; p90: number | null; p99: number | null };

function spread(values: number[]): Spread {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 0.5), p90: percentile(values, 0.9), p99: percentile(values, 0.99) };
}

/**
 * Latency per model from the captured streams (`flows`): time to first token, output tokens per
 * second and duration, as p50/p90/p99 over everything and per day; and calls per model.
 */
export function latencyJson(store: Store, days = 90): unknown {
  const since = new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
  const rows = store.db
    .query("SELECT coalesce(model, 'unknown') AS model, substr(started_at, 1, 10) AS day, ttft_ms, output_tokens_per_s, duration_ms FROM flows WHERE started_at >= ? ORDER BY started_at")
    .all(since) as Array<{ model: string; day: string; ttft_ms: number | null; output_tokens_per_s: number | null; duration_ms: number | null }>;
  const byModel = new Map<string, Array<(typeof rows)[number]>>();
  for (const r of rows) (byModel.get(r.model) ?? byModel.set(r.model, []).get(r.model)!).push(r);
  const models = [...byModel].map(([model, list]) => {
    const figures = Object.fromEntries(
      (Object.keys(FIGURES) as Figure[]).map((f) => [f, spread(list.map((r) => r[FIGURES[f]]).filter((x): x is number => x !== null))]),
    ) as Record<Figure, Spread>;
    const days = new Map<string, number[]>();
    for (const r of list) if (r.ttft_ms !== null) (days.get(r.day) ?? days.set(r.day, []).get(r.day)!).push(r.ttft_ms);
    const ttftByDay = [...days].map(([day, v]) => ({ day, ...spread(v) }));
    return { model, calls: list.length, ...figures, ttftByDay };
  });
  models.sort((a, b) => b.calls - a.calls || byText(a.model, b.model));
  return { since, flows: rows.length, models };
}

export function noIndex(store: Store): SluiceError {
  return new SluiceError(`${store.path} has no deep index yet: run 'sluice index' (it reads ~/.claude and ~/.codex) to build one`, EXIT_USAGE);
}
