// /api/tools and the tools page's figures, from `invocations`: calls, errors and the last call per
// tool (kind: tool, mcp, skill, subagent, slash_command), calls and errors per day per kind, and
// the busiest MCP servers, skills, subagents and tools one by one over time (the rest as "other").
// Read through migration 13's indexes: each group counted from a narrow index, its last call and
// its days read by seeks and ranges, the errors from an index of their own; never a pass over
// every row's columns (that was 170-250 ms after each commit on the 1 GB corpus).

import type { Store } from "./store";

/** How many of a kind are charted one by one; the others are summed as "other". */
export const TOP = 6;
/** The kinds charted one by one, in the page's order; MCP tools are summed by their server. */
export const OVER_TIME = ["mcp", "skill", "subagent", "tool"] as const;

interface Group { kind: string; name: string; calls: number; errors: number; lastAt: string | null }
type Day = { day: string; calls: number; errors: number };

/** An MCP tool is named mcp__<server>__<tool>. */
export const serverOf = (name: string) => name.split("__")[1] || name;

/** Binary order, as SQLite's ORDER BY sorts text. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every tool with its calls, errors and last call, busiest first, and its calls and errors per
 * day since `since`. The groups are found by seeks (each the next kind and name after the last);
 * a group's calls are its calls before the period, its undated ones and its days in the period:
 * each index entry is read once, by a range count, never grouped or sorted row by row.
 */
function readTools(store: Store, since: string): { list: Group[]; byGroup: Map<Group, Day[]> } {
  const db = store.db;
  // two seeks, not (kind, name) > (?, ?): SQLite seeks that on kind alone and steps through the rest
  const sameKind = db.query("SELECT kind, name FROM invocations WHERE kind = ?1 AND name > ?2 ORDER BY name LIMIT 1");
  const nextKind = db.query("SELECT kind, name FROM invocations WHERE kind > ?1 ORDER BY kind, name LIMIT 1");
  const next = (kind: string, name: string) => (sameKind.get(kind, name) ?? nextKind.get(kind)) as { kind: string; name: string } | null;
  const before = db.query("SELECT count(*) AS n FROM invocations WHERE kind = ?1 AND name = ?2 AND at < ?3");
  const undated = db.query("SELECT count(*) AS n FROM invocations WHERE kind = ?1 AND name = ?2 AND at IS NULL");
  const last = db.query("SELECT max(at) AS at FROM invocations WHERE kind = ? AND name = ?");
  const errors = new Map((db.query("SELECT kind, name, count(*) AS n FROM invocations WHERE is_error = 1 GROUP BY kind, name").all() as Array<{ kind: string; name: string; n: number }>).map((r) => [`${r.kind}\0${r.name}`, r.n]));
  const list: Group[] = [];
  const byGroup = new Map<Group, Day[]>();
  for (let k = next("", ""); k; k = next(k.kind, k.name)) {
    const n = (q: typeof before, ...more: string[]) => (q.get(k!.kind, k!.name, ...more) as { n: number }).n;
    const g: Group = { kind: k.kind, name: k.name, calls: 0, errors: errors.get(`${k.kind}\0${k.name}`) ?? 0, lastAt: (last.get(k.kind, k.name) as { at: string | null }).at };
    const days = perDay(store, g, since);
    g.calls = n(before, since) + n(undated) + days.reduce((a, d) => a + d.calls, 0);
    list.push(g);
    byGroup.set(g, days);
  }
  list.sort((a, b) => b.calls - a.calls || cmp(a.name, b.name) || cmp(a.kind, b.kind));
  return { list, byGroup };
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * One group's calls and errors per day since `since`, day by day through the index: the first call
 * at or after a point (a seek), that day's calls counted over its range, and on to the next day
 * that has one. A GROUP BY on the day sorts every row in the period instead (110-120 ms for
 * 250,000 calls on two loaded cores; this reads each entry once, sorting nothing).
 */
function perDay(store: Store, g: Group, since: string): Day[] {
  const byDay = new Map<string, Day>();
  walk(store, "calls", g, since, (day, n) => byDay.set(day, { day, calls: n, errors: 0 }));
  if (g.errors) walk(store, "errors", g, since, (day, n) => { const d = byDay.get(day); if (d) d.errors = n; });
  return [...byDay.values()];
}

// the errors from their own index, named: the planner takes the wider one (the same columns)
const FROM = { calls: "invocations", errors: "invocations INDEXED BY invocations_errors" };

function walk(store: Store, what: keyof typeof FROM, g: Group, since: string, each: (day: string, n: number) => void) {
  const only = what === "errors" ? " AND is_error = 1" : "";
  const first = store.db.query(`SELECT min(at) AS at FROM ${FROM[what]} WHERE kind = ?1 AND name = ?2 AND at >= ?3${only}`);
  const count = store.db.query(`SELECT count(*) AS n FROM ${FROM[what]} WHERE kind = ?1 AND name = ?2 AND at >= ?3 AND at < ?4${only}`);
  for (let at = since; ;) {
    const day = (first.get(g.kind, g.name, at) as { at: string | null }).at?.slice(0, 10);
    if (day === undefined) return;
    at = nextDay(day);
    each(day, (count.get(g.kind, g.name, day, at) as { n: number }).n);
  }
}

/** Calls and errors per day and kind, in day then kind order. */
function perKind(byGroup: Map<Group, Day[]>) {
  const sums = new Map<string, { day: string; kind: string; calls: number; errors: number }>();
  for (const [g, list] of byGroup) {
    for (const d of list) {
      const key = `${d.day}\0${g.kind}`;
      const x = sums.get(key) ?? sums.set(key, { day: d.day, kind: g.kind, calls: 0, errors: 0 }).get(key)!;
      x.calls += d.calls;
      x.errors += d.errors;
    }
  }
  return [...sums.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

/** For one kind: its TOP busiest (by calls in the period) one by one, the rest as "other", per day. */
function overTime(byGroup: Map<Group, Day[]>, kind: string) {
  const perName = new Map<string, Map<string, number>>();
  for (const [g, list] of byGroup) {
    if (g.kind !== kind) continue;
    const name = kind === "mcp" ? serverOf(g.name) : g.name;
    const m = perName.get(name) ?? perName.set(name, new Map()).get(name)!;
    for (const d of list) m.set(d.day, (m.get(d.day) ?? 0) + d.calls);
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const ranked = [...perName].map(([name, m]) => ({ name, calls: total(m), m })).filter((x) => x.calls > 0).sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : 1));
  const top = ranked.slice(0, TOP), rest = ranked.slice(TOP);
  const series = top.map((x) => ({ name: x.name, calls: x.calls, perDay: Object.fromEntries(x.m) as Record<string, number> }));
  if (rest.length) {
    const other: Record<string, number> = {};
    for (const x of rest) for (const [day, n] of x.m) other[day] = (other[day] ?? 0) + n;
    series.push({ name: `other (${rest.length})`, calls: rest.reduce((a, x) => a + x.calls, 0), perDay: other });
  }
  return { kind, series };
}

export function toolsJson(store: Store, period = 90): unknown {
  const since = new Date(Date.now() - period * 86_400_000).toISOString().slice(0, 10);
  const { list: tools, byGroup } = readTools(store, since);
  const servers = new Map<string, { server: string; tools: number; calls: number; errors: number }>();
  for (const t of tools.filter((x) => x.kind === "mcp")) {
    const server = serverOf(t.name);
    const x = servers.get(server) ?? servers.set(server, { server, tools: 0, calls: 0, errors: 0 }).get(server)!;
    x.tools++;
    x.calls += t.calls;
    x.errors += t.errors;
  }
  return {
    since, totals: { calls: tools.reduce((s, t) => s + t.calls, 0), errors: tools.reduce((s, t) => s + t.errors, 0) },
    tools: tools.map((t) => ({ ...t, errorRate: t.calls ? t.errors / t.calls : 0 })), perDay: perKind(byGroup),
    mcpServers: [...servers.values()].sort((a, b) => b.calls - a.calls), overTime: OVER_TIME.map((k) => overTime(byGroup, k)),
  };
}
