// The dashboard's pages, rendered on the server from the same JSON the API answers (so a number
// on a page is the report's), escaped throughout (html.ts). Charts are drawn by the page's one
// script from the data block each page carries; live updates re-fetch the page's <main>.

import { count as n, mib, usd } from "../runtime/format";
import { html, jsonBlock, type Html } from "./html";
import { budgetOf, latencyJson, reportJson, statsJson, statusJson } from "./api";
import { TOP, toolsJson } from "./tools";
import { searchForm } from "./search";
import type { Store } from "./store";

export const PAGES = { "/": "Overview", "/sessions": "Sessions", "/models": "Models", "/tools": "Tools", "/health": "Health" } as const;
export type PagePath = keyof typeof PAGES;

interface Chart {
  id: string;
  title: string;
  unit: "usd" | "tokens" | "ms" | "calls";
  stacked: boolean;
  x: string[]; // days, YYYY-MM-DD
  series: Array<{ label: string; values: Array<number | null> }>;
}

/** The whole page: the shell around <main>, which live updates replace alone. */
export function layout(path: string, title: string, main: Html): string {
  const under = (p: string) => p === path || (p === "/sessions" && (path === "/search" || path.startsWith("/sessions/")));
  const nav = Object.entries(PAGES).map(([p, name]) => html`<a href="${p}"${under(p) ? html` aria-current="page"` : ""}>${name}</a>`);
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sluice</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/uPlot.min.css"><link rel="stylesheet" href="/static/app.css">
<script src="/static/uPlot.iife.min.js" defer></script><script src="/static/app.js" defer></script></head>
<body><header><strong>sluice</strong><nav>${nav}</nav><span id="live" title="live updates">●</span></header>
<main id="main">${main}</main></body></html>`}`;
}

const raw = (name: string, value: number, text: string) => html`<span data-value="${name}" data-raw="${value}">${text}</span>`;
const project = (p: string | null) => (p ? p.replace(/\/+$/, "").slice(p.replace(/\/+$/, "").lastIndexOf("/") + 1) : "");
const shortModel = (m: string) => m.replace(/^claude-/, "").replace(/-\d{8}$/, "");

/** Per-day series of a daily report's model breakdowns: cost and tokens, one series per model. */
function dailyCharts(daily: any[]): Chart[] {
  const x = daily.map((d) => d.date as string);
  const models = [...new Set(daily.flatMap((d) => (d.modelBreakdowns as any[]).map((m) => m.modelName as string)))];
  const of = (f: (m: any) => number) => models.map((model) => ({
    label: shortModel(model), values: daily.map((d) => { const m = (d.modelBreakdowns as any[]).find((b) => b.modelName === model); return m ? f(m) : 0; }),
  }));
  return [
    { id: "cost-per-day", title: "Cost per day, by model", unit: "usd", stacked: true, x, series: of((m) => m.cost) },
    { id: "tokens-per-day", title: "Tokens per day, by model", unit: "tokens", stacked: true, x, series: of((m) => m.inputTokens + m.outputTokens + m.cacheCreationTokens + m.cacheReadTokens) },
  ];
}

function chartBlocks(charts: Chart[]): Html {
  return html`${charts.map((c) => html`<section class="chart"><h3>${c.title}</h3><div class="plot" data-chart="${c.id}"></div></section>`)}${jsonBlock("charts", charts)}`;
}

function activeBlock(store: Store): Html {
  const r: any = reportJson(store, "blocks", new URLSearchParams({ active: "1" }));
  const b = r.blocks[0];
  if (!b) return html`<p class="muted">No active 5-hour block.</p>`;
  const left = Math.max(0, Math.round((Date.parse(b.endTime) - Date.now()) / 60000));
  return html`<dl class="figures">
    <dt>Started</dt><dd>${new Date(b.startTime).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })} (${left} min left)</dd>
    <dt>Spent</dt><dd>${raw("block-cost", b.costUSD, usd(b.costUSD))}, ${raw("block-tokens", b.totalTokens, n(b.totalTokens))} tokens</dd>
    ${b.burnRate ? html`<dt>Burn rate</dt><dd>${n(Math.round(b.burnRate.tokensPerMinute))} tokens/min, ${usd(b.burnRate.costPerHour)}/h</dd>` : ""}
    ${b.projection ? html`<dt>Projection</dt><dd>${raw("block-projected-cost", b.projection.totalCost, usd(b.projection.totalCost))}, ${n(b.projection.totalTokens)} tokens${b.tokenLimitStatus ? html` (${b.tokenLimitStatus.status})` : ""}</dd>` : ""}
  </dl>`;
}

function months(store: Store): Html {
  const r: any = reportJson(store, "monthly", new URLSearchParams());
  const now = new Date();
  const key = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
  const rows = [key(now), key(new Date(now.getFullYear(), now.getMonth() - 1, 1))].map((m) => r.monthly.find((x: any) => x.month === m) ?? { month: m, totalCost: 0, totalTokens: 0 });
  return html`<table><thead><tr><th>Month</th><th class="num">Cost</th><th class="num">Tokens</th></tr></thead><tbody>
    ${rows.map((x: any, i: number) => html`<tr><td>${x.month}${i === 0 ? " (this)" : " (last)"}</td><td class="num">${raw(`month-${i}-cost`, x.totalCost, usd(x.totalCost))}</td><td class="num">${n(x.totalTokens)}</td></tr>`)}
  </tbody></table>`;
}

function budget(store: Store): Html {
  const b = budgetOf(store);
  if (!b) return html``;
  const part = (name: string, u: { budget: number; spent: number; over: boolean } | null) =>
    u ? html`<dt>${name}</dt><dd class="${u.over ? "bad" : ""}">${usd(u.spent)} of ${usd(u.budget)} <meter min="0" max="${u.budget}" value="${Math.min(u.spent, u.budget)}"></meter></dd>` : "";
  return html`<section><h2>Budget</h2><dl class="figures">${part("Today", b.daily)}${part("This month", b.monthly)}</dl></section>`;
}

function tops(sessions: any[]): Html {
  const byProject = new Map<string, { cost: number; tokens: number; sessions: number }>();
  for (const s of sessions) {
    const p = byProject.get(s.projectPath ?? "") ?? byProject.set(s.projectPath ?? "", { cost: 0, tokens: 0, sessions: 0 }).get(s.projectPath ?? "")!;
    p.cost += s.totalCost;
    p.tokens += s.totalTokens;
    p.sessions++;
  }
  const projects = [...byProject].sort((a, b) => b[1].cost - a[1].cost).slice(0, 10);
  const top = [...sessions].sort((a, b) => b.totalCost - a.totalCost).slice(0, 10);
  return html`<div class="cols"><section><h2>Top projects</h2><table><thead><tr><th>Project</th><th class="num">Sessions</th><th class="num">Cost</th></tr></thead><tbody>
    ${projects.map(([p, x]) => html`<tr><td title="${p}">${project(p) || "(none)"}</td><td class="num">${x.sessions}</td><td class="num">${usd(x.cost)}</td></tr>`)}</tbody></table></section>
    <section><h2>Top sessions</h2><table><thead><tr><th>Session</th><th>Project</th><th class="num">Cost</th></tr></thead><tbody>
    ${top.map((s) => html`<tr><td class="id"><a href="/sessions/${encodeURIComponent(s.sessionId)}">${s.sessionId}</a></td><td title="${s.projectPath}">${project(s.projectPath)}</td><td class="num">${usd(s.totalCost)}</td></tr>`)}</tbody></table></section></div>`;
}

export function overviewPage(store: Store, params: URLSearchParams): Html {
  const days = params.get("days") === "90" ? 90 : 30;
  const since = new Date(Date.now() - (days - 1) * 86_400_000);
  const sinceKey = `${since.getFullYear()}-${String(since.getMonth() + 1).padStart(2, "0")}-${String(since.getDate()).padStart(2, "0")}`;
  const daily: any = reportJson(store, "daily", new URLSearchParams({ since: sinceKey }));
  const sessions: any = reportJson(store, "session", new URLSearchParams());
  return html`<h1>Overview</h1>
    <p class="switch">Last <a href="/?days=30"${days === 30 ? html` aria-current="true"` : ""}>30</a> · <a href="/?days=90"${days === 90 ? html` aria-current="true"` : ""}>90</a> days:
      ${raw("period-cost", daily.totals.totalCost, usd(daily.totals.totalCost))}, ${raw("period-tokens", daily.totals.totalTokens, n(daily.totals.totalTokens))} tokens</p>
    ${chartBlocks(dailyCharts(daily.daily))}
    <div class="cols"><section><h2>This month and last</h2>${months(store)}</section><section><h2>Active block</h2>${activeBlock(store)}</section></div>
    ${budget(store)}${tops(sessions.sessions)}`;
}

export function sessionsPage(store: Store, params: URLSearchParams): Html {
  const chosen = new URLSearchParams();
  for (const k of ["project", "agent", "since", "until"]) if (params.get(k)) chosen.set(k, params.get(k)!);
  const r: any = reportJson(store, "session", chosen);
  const day = (iso: string | null) => (iso ? iso.slice(0, 10) : "");
  const field = (k: string) => html`<label>${k} <input name="${k}" value="${params.get(k) ?? ""}" ${k === "since" || k === "until" ? html`placeholder="YYYY-MM-DD"` : ""}></label>`;
  return html`<h1>Sessions</h1>${searchForm(new URLSearchParams(), true)}
    <form method="get" class="filters">${["project", "agent", "since", "until"].map(field)}<button>Apply</button></form>
    <p><input type="search" id="filter" placeholder="Filter the rows shown" aria-label="Filter the rows shown"> ${raw("sessions-count", r.sessions.length, `${n(r.sessions.length)} sessions`)},
      ${raw("sessions-cost", r.totals.totalCost, usd(r.totals.totalCost))}, ${raw("sessions-tokens", r.totals.totalTokens, n(r.totals.totalTokens))} tokens</p>
    <div class="scroll"><table class="sortable" id="sessions"><thead><tr>
      <th data-type="text">Session</th><th data-type="text" class="opt">Agent</th><th data-type="text">Project</th><th data-type="text" class="opt">Models</th><th data-type="text" class="opt">Last activity</th><th data-type="num" class="num">Tokens</th><th data-type="num" class="num">Cost</th>
    </tr></thead><tbody>${[...r.sessions].reverse().map((s: any) => html`<tr>
      <td class="id" title="${s.sessionId}"><a href="/sessions/${encodeURIComponent(s.sessionId)}">${s.sessionId}</a>${s.subagents ? html` <small>(+${s.subagents})</small>` : ""}</td><td class="opt">${s.agent}</td><td class="proj" title="${s.projectPath}">${project(s.projectPath)}</td>
      <td class="opt">${(s.modelsUsed as string[]).map(shortModel).join(", ")}</td><td class="opt" data-sort="${s.lastActivity ?? ""}">${day(s.lastActivity)}</td>
      <td class="num" data-sort="${s.totalTokens}">${n(s.totalTokens)}</td><td class="num" data-sort="${s.totalCost}">${usd(s.totalCost)}</td></tr>`)}</tbody></table></div>`;
}

export function modelsPage(store: Store): Html {
  const m: any = reportJson(store, "models", new URLSearchParams());
  const lat: any = latencyJson(store);
  const f = (x: number | null, d = 0) => (x === null ? "–" : x.toFixed(d));
  const top = lat.models.slice(0, 6);
  const days = [...new Set(top.flatMap((x: any) => x.ttftByDay.map((d: any) => d.day)))].sort() as string[];
  const charts: Chart[] = ["p50", "p90", "p99"].map((p) => ({
    id: `ttft-${p}`, title: `Time to first token, ${p} per day (ms)`, unit: "ms", stacked: false, x: days,
    series: top.map((x: any) => ({ label: shortModel(x.model), values: days.map((d) => x.ttftByDay.find((y: any) => y.day === d)?.[p] ?? null) })),
  }));
  return html`<h1>Models and latency</h1>
    <h2>Calls per model</h2><div class="scroll"><table><thead><tr><th>Model</th><th class="num">Calls</th><th class="num">Tokens</th><th class="num">Cost</th></tr></thead><tbody>
    ${m.models.map((x: any) => html`<tr><td>${x.modelName}</td><td class="num">${n(x.calls)}</td><td class="num">${n(x.totalTokens)}</td><td class="num">${raw(`model-cost`, x.totalCost, usd(x.totalCost))}</td></tr>`)}
    </tbody></table></div>
    <h2>Latency (captured streams, last 90 days)</h2>
    ${lat.flows === 0 ? html`<p class="muted">No captured streams: latency comes from a proxy's capture (sluice ingest).</p>` : html`
    <div class="scroll"><table><thead><tr><th>Model</th><th class="num">Calls</th><th class="num">TTFT p50/p90/p99 ms</th><th class="num">Tokens/s p50/p90/p99</th><th class="num">Duration p50/p90/p99 ms</th></tr></thead><tbody>
    ${lat.models.map((x: any) => html`<tr><td>${x.model}</td><td class="num">${n(x.calls)}</td>
      <td class="num">${f(x.ttftMs.p50)} / ${f(x.ttftMs.p90)} / ${f(x.ttftMs.p99)}</td><td class="num">${f(x.outputTokensPerSecond.p50, 1)} / ${f(x.outputTokensPerSecond.p90, 1)} / ${f(x.outputTokensPerSecond.p99, 1)}</td>
      <td class="num">${f(x.durationMs.p50)} / ${f(x.durationMs.p90)} / ${f(x.durationMs.p99)}</td></tr>`)}</tbody></table></div>
    ${chartBlocks(charts)}`}`;
}

export function toolsPage(store: Store): Html {
  const t: any = toolsJson(store);
  const days = [...new Set(t.perDay.map((d: any) => d.day))].sort() as string[];
  const kinds = [...new Set(t.perDay.map((d: any) => d.kind))].sort() as string[];
  const chart: Chart = {
    id: "tools-per-day", title: "Calls per day, by kind", unit: "calls", stacked: true, x: days,
    series: kinds.map((k) => ({ label: k, values: days.map((d) => t.perDay.find((x: any) => x.day === d && x.kind === k)?.calls ?? 0) })),
  };
  const errorsChart: Chart = { ...chart, id: "tool-errors-per-day", title: "Errors per day, by kind", series: kinds.map((k) => ({ label: k, values: days.map((d) => t.perDay.find((x: any) => x.day === d && x.kind === k)?.errors ?? 0) })) };
  // the busiest of each kind one by one over the same days, the rest summed as "other"
  const TITLES: Record<string, string> = { mcp: "MCP servers", skill: "Skills", subagent: "Subagents", tool: "Built-in tools" };
  const oneByOne: Chart[] = t.overTime.filter((k: any) => k.series.length).map((k: any) => ({
    id: `${k.kind}-per-day`, title: `${TITLES[k.kind]}: calls per day (the ${TOP} busiest, the rest as other)`, unit: "calls", stacked: true, x: days,
    series: k.series.map((x: any) => ({ label: x.name, values: days.map((d) => x.perDay[d] ?? 0) })),
  }));
  return html`<h1>Tools</h1><p>${raw("tool-calls", t.totals.calls, n(t.totals.calls))} calls, ${raw("tool-errors", t.totals.errors, n(t.totals.errors))} errors</p>
    ${days.length ? chartBlocks([chart, errorsChart, ...oneByOne]) : html`<p class="muted">No calls in the last 90 days.</p>`}
    ${t.mcpServers.length ? html`<h2>MCP servers</h2><div class="scroll"><table><thead><tr><th>Server</th><th class="num">Tools</th><th class="num">Calls</th><th class="num">Errors</th></tr></thead><tbody>
      ${t.mcpServers.map((x: any) => html`<tr><td>${x.server}</td><td class="num">${n(x.tools)}</td><td class="num">${n(x.calls)}</td><td class="num">${n(x.errors)}</td></tr>`)}</tbody></table></div>` : ""}
    <h2>Every tool, skill, subagent and command</h2>
    <div class="scroll"><table class="sortable"><thead><tr><th data-type="text">Kind</th><th data-type="text">Name</th><th data-type="num" class="num">Calls</th><th data-type="num" class="num">Errors</th><th data-type="num" class="num">Error rate</th></tr></thead><tbody>
    ${t.tools.map((x: any) => html`<tr><td>${x.kind}</td><td>${x.name}</td><td class="num" data-sort="${x.calls}">${n(x.calls)}</td><td class="num" data-sort="${x.errors}">${n(x.errors)}</td><td class="num" data-sort="${x.errorRate}">${(x.errorRate * 100).toFixed(1)}%</td></tr>`)}
    </tbody></table></div>`;
}

export function healthPage(store: Store): Html {
  const s: any = statsJson(store);
  const st: any = statusJson(store);
  const i = s.ingester;
  return html`<h1>Health</h1>
    <p class="verdict ${s.health}">${raw("health", 0, s.health)}</p>${s.reasons.length ? html`<ul>${s.reasons.map((r: string) => html`<li>${r}</li>`)}</ul>` : ""}
    <dl class="figures"><dt>Database</dt><dd>${s.db} (schema v${s.schemaVersion}), ${mib(s.files.dbBytes)}</dd>
      <dt>WAL</dt><dd>${raw("wal-bytes", s.files.walBytes, mib(s.files.walBytes))}</dd>
      <dt>Ingester</dt><dd>${i?.running ? html`${i.mode}, PID ${i.pid}, RSS ${i.rssBytes == null ? "?" : mib(i.rssBytes)}${i.maxRssBytes ? html` of ${mib(i.maxRssBytes)} <meter min="0" max="${i.maxRssBytes}" value="${i.rssBytes ?? 0}"></meter>` : ""}, ${n(Math.round(i.linesPerSecond ?? 0))} lines/s` : "not running"}</dd>
      <dt>Last check</dt><dd>${s.lastCheck ? `${s.lastCheck.at} (${s.lastCheck.kind}): ${s.lastCheck.ok ? "ok" : `${s.lastCheck.problems.length} problems`}` : "never: run sluice check"}</dd>
      ${s.budget ? html`<dt>Budget</dt><dd>${s.budget.daily ? `today ${usd(s.budget.daily.spent)} of ${usd(s.budget.daily.budget)} ` : ""}${s.budget.monthly ? `this month ${usd(s.budget.monthly.spent)} of ${usd(s.budget.monthly.budget)}` : ""}</dd>` : ""}
    </dl>
    <h2>Writers</h2>${st.writers.length ? html`<table><thead><tr><th>Role</th><th>PID</th><th>Host</th><th>Since</th></tr></thead><tbody>${st.writers.map((w: any) => html`<tr><td>${w.role}</td><td>${w.pid}</td><td>${w.host}</td><td>${w.since}</td></tr>`)}</tbody></table>` : html`<p class="muted">No index follower or index run is writing.</p>`}
    <h2>Sources</h2>${s.sources.length ? html`<div class="scroll"><table><thead><tr><th>Source</th><th class="num">Lines</th><th class="num">Behind</th><th class="num">Lines/s</th><th>Last commit</th></tr></thead><tbody>
      ${s.sources.map((x: any) => html`<tr><td>${x.path}</td><td class="num">${n(x.lines)}</td><td class="num">${x.behindBytes == null ? "?" : n(x.behindBytes)}</td><td class="num">${x.linesPerSecondLastMinute == null ? "–" : n(Math.round(x.linesPerSecondLastMinute))}</td><td>${x.lastCommitAt ?? "never"}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">No capture sources.</p>`}
    ${s.pushes.length ? html`<h2>Team stores</h2><div class="scroll"><table><thead><tr><th>Store</th><th class="num">Changes behind</th><th>Last push</th><th>push --follow</th></tr></thead><tbody>
      ${s.pushes.map((p: any) => html`<tr><td>${p.target}</td><td class="num">${n(p.behindChanges)}</td><td>${p.pushedAt}</td><td>${p.following ? "running" : "not running"}</td></tr>`)}</tbody></table></div>` : ""}
    <h2>Tables</h2><p>${Object.entries(s.tables).map(([t, c]) => `${t} ${n(c as number)}`).join(", ")}</p>`;
}

export function loginPage(failed: boolean): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · sluice</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="login"><h1>sluice</h1>${failed ? html`<p class="bad">That token is wrong.</p>` : ""}<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label><button>Log in</button></form></main></body></html>`}`;
}
