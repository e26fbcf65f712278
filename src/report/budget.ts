// The budgets of the config file against what was spent: today and this month, in the report's
// time zone, from the same usage reader as every report. The status line and `stats` show them.

import type { Database } from "bun:sqlite";
import type { Price } from "./prices";
import { UsageReader } from "./reports";
import { localDateOf, zone } from "../runtime/zone";

export interface BudgetUse {
  budget: number;
  spent: number;
  over: boolean;
}

export interface BudgetOptions {
  prices: Record<string, Price>;
  tz: string;
  now: number;
}

/** Dollars spent from `fromMs` up to now. */
export function costSince(reader: UsageReader, fromMs: number, now: number): number {
  return reader.between(new Date(fromMs).toISOString(), new Date(now).toISOString()).reduce((s, b) => s + b.cost, 0);
}

/** Today's and this month's spending against the budgets that are set. */
export function budgetUse(db: Database, budget: { daily?: number; monthly?: number }, o: BudgetOptions): { daily: BudgetUse | null; monthly: BudgetUse | null } {
  const reader = new UsageReader(db, o.prices);
  const use = (limit: number | undefined, from: () => number): BudgetUse | null => {
    if (limit === undefined) return null;
    const spent = costSince(reader, from(), o.now);
    return { budget: limit, spent, over: spent > limit };
  };
  return { daily: use(budget.daily, () => startOfDay(o.now, o.tz)), monthly: use(budget.monthly, () => startOfMonth(o.now, o.tz)) };
}

/** The instant the local day of `now` began in `tz`. */
export function startOfDay(now: number, tz: string): number {
  const local = now + zone(tz).offsetAt(now);
  const sinceMidnight = ((local % 86_400_000) + 86_400_000) % 86_400_000;
  return now - sinceMidnight;
}

/** The instant the local month of `now` began in `tz`: local midnights walked back to the 1st (DST-proof). */
export function startOfMonth(now: number, tz: string): number {
  const z = zone(tz);
  let t = startOfDay(now, tz);
  while (!localDateOf(z, t).endsWith("-01")) t = startOfDay(t - 1, tz);
  return t;
}
