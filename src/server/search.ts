// Search over the archive's full-text index, as `sluice search` does it: the same function
// (archive/search.ts), the same filters read the same way, the same one-line error for a query
// FTS5 cannot read. /api/search answers `sluice search --json`; the page shows the same hits with
// the matched words marked. The snippet is log text: each piece is escaped and the only markup
// added is <mark>, placed where FTS5's markers were (never markup taken from the text).

import { cutNote, MATCH_END, MATCH_START, searchJson as searchAnswer, searchRanked, type SearchFilters, type SearchHit, type SearchResult } from "../archive/search";
import { resolveSession, withSubagents } from "../archive/sessions";
import { dateRange } from "../report/dates";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { count as n } from "../runtime/format";
import { BadRequest } from "./api";
import { html, Html } from "./html";
import type { Store } from "./store";

const ROLES = ["user", "assistant", "tool", "system"];
const AGENTS = ["claude", "codex"];
const PARAMS = ["q", "project", "agent", "session", "role", "since", "until", "limit"];
const DAY_MS = 86_400_000;
/** A page or an API answer lists at most this many hits (each needs a snippet made). */
export const MAX_LIMIT = 1000;

export interface SearchAsk {
  query: string;
  filters: SearchFilters;
}

/** The query parameters as `sluice search`'s flags; blank ones (an empty form field) are left out. */
function paramsOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    if (!PARAMS.includes(k)) throw new BadRequest(`unknown parameter '${k}'; a search takes ${PARAMS.join(", ")}`);
    if (v.trim() !== "") out[k] = v;
  }
  return out;
}

/** Checks the parameters as the CLI checks its flags; a mistake is a BadRequest with the CLI's line. */
export function readSearch(store: Store, params: URLSearchParams): SearchAsk {
  const a = paramsOf(params);
  try {
    if (a.agent && !AGENTS.includes(a.agent)) throw new SluiceError(`--agent ${a.agent}: use claude or codex`, EXIT_USAGE);
    if (a.role && !ROLES.includes(a.role)) throw new SluiceError(`--role ${a.role}: use one of ${ROLES.join(", ")}`, EXIT_USAGE);
    const range = dateRange(a.since, a.until, "UTC");
    const limit = a.limit === undefined ? 20 : Number(a.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new SluiceError(`--limit ${a.limit} is not a whole number from 1 to ${MAX_LIMIT}`, EXIT_USAGE);
    const sessions = a.session ? withSubagents(store.db, resolveSession(store.db, a.session)).map((s) => s.id) : undefined;
    return {
      query: a.q ?? "",
      filters: {
        project: a.project, agent: a.agent, role: a.role, sessions, limit,
        // the CLI's bounds: a day's start UTC, and the start of the day after --until
        since: range.since ? `${range.since}T00:00:00.000Z` : undefined,
        until: range.until ? new Date(Date.parse(`${range.until}T00:00:00Z`) + DAY_MS).toISOString() : undefined,
      },
    };
  } catch (err) {
    if (err instanceof SluiceError && err.exitCode === EXIT_USAGE) throw new BadRequest(err.message);
    throw err;
  }
}

function run(store: Store, ask: SearchAsk, withIds: boolean): SearchResult {
  try {
    return searchRanked(store.db, ask.query, ask.filters, withIds);
  } catch (err) {
    if (err instanceof SluiceError && err.exitCode === EXIT_USAGE) throw new BadRequest(err.message);
    throw err;
  }
}

/** `sluice search --json`: the query as given and the hits, the snippet without its markers. */
export function searchJson(store: Store, params: URLSearchParams): unknown {
  return searchAnswer(params.get("q") ?? "", run(store, readSearch(store, params), false));
}

/**
 * A snippet as HTML: the text between FTS5's markers in <mark>, everything escaped. A marker the
 * text itself holds (a control character in a log) can only open or close a <mark>, never nest
 * one or leave one open.
 */
export function highlight(snippet: string): Html {
  const out: Array<string | Html> = [];
  let open = false, piece = "";
  const flush = () => {
    if (piece) out.push(open ? html`<mark>${piece}</mark>` : piece);
    piece = "";
  };
  for (const ch of snippet.replace(/\s+/g, " ")) {
    if (ch === MATCH_START || ch === MATCH_END) {
      flush();
      open = ch === MATCH_START;
    } else piece += ch;
  }
  flush();
  return html`${out}`;
}

/** Where a hit opens: its session's conversation at the page holding the message, scrolled to it. */
export function hitHref(h: SearchHit): string {
  return `/sessions/${encodeURIComponent(h.session)}?message=${h.message}#m${h.message}`;
}

const when = (at: string | null) => (at ? at.slice(0, 16).replace("T", " ") : "undated");
const lastPart = (p: string | null) => (p ? p.replace(/\/+$/, "").slice(p.replace(/\/+$/, "").lastIndexOf("/") + 1) : "");

/** The search form: the query and the CLI's filters, as a GET form that works without script. */
export function searchForm(params: URLSearchParams, compact = false): Html {
  const v = (k: string) => params.get(k) ?? "";
  const choice = (k: string, options: string[]) =>
    html`<label>${k} <select name="${k}"><option value="">any</option>${options.map((o) => html`<option${o === v(k) ? html` selected` : ""}>${o}</option>`)}</select></label>`;
  const text = (k: string, hint: string) => html`<label>${k} <input name="${k}" value="${v(k)}" placeholder="${hint}" size="10"></label>`;
  return html`<form method="get" action="/search" class="search" role="search">
    <div class="q"><input type="search" name="q" value="${v("q")}" placeholder="Search the conversations: words, &quot;a phrase&quot;, prefix*, NOT" aria-label="Search the conversations" required>
      <button>Search</button></div>
    ${params.get("session") ? html`<input type="hidden" name="session" value="${v("session")}">` : ""}
    ${compact ? "" : html`<div class="filters">${text("project", "name or path")}${choice("agent", AGENTS)}${choice("role", ROLES)}${text("since", "YYYY-MM-DD, 7d")}${text("until", "YYYY-MM-DD")}</div>`}
  </form>`;
}

function hitItem(h: SearchHit): Html {
  return html`<li><div class="where"><a href="${hitHref(h)}" class="id">${h.session}</a> <span title="${h.project ?? ""}">${lastPart(h.project)}</span>
    <span class="muted">${when(h.at)} · ${h.tool ? `${h.role}: ${h.tool}` : h.role}${h.model ? ` · ${h.model}` : ""}</span></div>
    <p class="snippet">${highlight(h.snippet)}</p></li>`;
}

/** The search page: the form, then the hits, or the CLI's one line when the query cannot be read. */
export function searchPage(store: Store, params: URLSearchParams): Html {
  let hits: SearchHit[] = [], error = "", limit = 20, cut: number | undefined;
  try {
    const ask = readSearch(store, params);
    limit = ask.filters.limit;
    if (ask.query.trim()) ({ hits, ranked: cut } = run(store, ask, true));
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    error = err.message;
  }
  const more = new URLSearchParams(params);
  more.set("limit", String(Math.min(limit * 5, MAX_LIMIT)));
  const asked = (params.get("q") ?? "").trim() !== "";
  return html`<h1>Search</h1>${searchForm(params)}
    ${error ? html`<p class="bad" role="alert" id="search-error">${error}</p>` : ""}
    ${!error && asked ? html`<p>${raw(hits.length)}${hits.length === limit && limit < MAX_LIMIT ? html` · <a href="/search?${more.toString()}">show up to ${n(Math.min(limit * 5, MAX_LIMIT))}</a>` : ""}</p>` : ""}
    ${cut ? html`<p class="muted" id="search-cut">${cutNote(cut).replace(/--(\w+)/g, "$1")}</p>` : ""}
    ${hits.length ? html`<ol class="hits">${hits.map(hitItem)}</ol>` : ""}
    ${!asked && !error ? html`<p class="muted">Words match whole words (prefix* for the start of one), "quotes" a phrase; AND, OR, NOT and NEAR(a b) combine them. Credentials are masked as the archive was written.</p>` : ""}`;
}

const raw = (count: number) => html`<span data-value="search-hits" data-raw="${count}">${count === 1 ? "1 match" : `${n(count)} matches`}</span>`;
