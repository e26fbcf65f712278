// One session read as `sluice show` shows it (report/show.ts: the same header and the same
// messages), a window at a time: a session can hold 40,000 messages, so a page shows PAGE_SIZE of
// them and links to the others, and /api/sessions/<id> takes offset and limit (the body is
// `show --json`'s shape; the Link header names the next and previous windows). Tool calls are one
// line each, unfolded with <details>; subagents and compactions are marked. All text is escaped.

import { resolveSession, type SessionRow } from "../archive/sessions";
import { config } from "../runtime/config";
import { count as n, usd } from "../runtime/format";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { loadPrices } from "../report/prices";
import { messagePosition, messageWindow, showHeader, showParts, type ShownParts, type ShownSession, type WindowMessage } from "../report/show";
import { BadRequest } from "./api";
import { html, type Html } from "./html";
import { searchForm } from "./search";
import type { Store } from "./store";

/** Messages on one page of the conversation view. */
export const PAGE_SIZE = 200;
/** Messages in one /api/sessions answer, unless `limit` says otherwise (at most MAX_API_LIMIT). */
const API_LIMIT = 1000;
const MAX_API_LIMIT = 10_000;

/** The session a path names (its id, a prefix of it, or its key), or a 404 with show's line. */
export class SessionNotFound extends Error {}

function sessionOf(store: Store, name: string): SessionRow {
  try {
    return resolveSession(store.db, name);
  } catch (err) {
    if (err instanceof SluiceError && err.exitCode === EXIT_USAGE) throw new SessionNotFound(err.message);
    throw err;
  }
}

function whole(params: URLSearchParams, key: string, fallback: number, max: number): number {
  const v = params.get(key);
  if (v === null || v === "") return fallback;
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 0 || x > max) throw new BadRequest(`${key}=${v}: use a whole number from 0 to ${max}`);
  return x;
}

function onlyParams(params: URLSearchParams, allowed: string[]) {
  for (const k of params.keys()) if (!allowed.includes(k)) throw new BadRequest(`unknown parameter '${k}'; this takes ${allowed.join(", ")}`);
}

const prices = () => loadPrices(config().prices);

/** `sluice show --json` with messages [offset, offset + limit); and the Link header for the windows beside it. */
export function conversationJson(store: Store, name: string, params: URLSearchParams): { body: ShownSession; link: string | null } {
  onlyParams(params, ["offset", "limit"]);
  const offset = whole(params, "offset", 0, Number.MAX_SAFE_INTEGER), limit = whole(params, "limit", API_LIMIT, MAX_API_LIMIT);
  const s = sessionOf(store, name);
  const parts = showParts(store.db, s);
  const messages = messageWindow(store.db, parts, offset, limit).map(({ id, toolUseId, ...m }) => m);
  const base = `/api/sessions/${encodeURIComponent(name)}?limit=${limit}&offset=`;
  const links = [
    offset + limit < parts.total ? `<${base}${offset + limit}>; rel="next"` : "",
    offset > 0 ? `<${base}${Math.max(0, offset - limit)}>; rel="prev"` : "",
  ].filter(Boolean);
  return { body: { ...showHeader(store.db, s, parts, prices()), messages }, link: links.length ? links.join(", ") : null };
}

const time = (at: string | null) => (at ? at.slice(0, 16).replace("T", " ") : "undated");
const oneLine = (t: string, max = 160) => {
  const line = t.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};
const more = (m: WindowMessage) => (m.length > m.text.length ? html`<p class="more">[${n(m.length - m.text.length)} more characters in the archive: sluice export]</p>` : "");

function header(h: Omit<ShownSession, "messages">, parts: ShownParts): Html {
  const t = h.totals;
  const sub = (x: ShownSession["subagents"][number]) => html`<a href="#s-${x.session}">${x.session}</a>${x.agentType ? ` (${x.agentType})` : ""}, ${n(x.messages)} messages`;
  return html`<h1 class="id">${h.session}</h1><dl class="figures">
    <dt>Project</dt><dd>${h.project ?? "unknown"}${h.gitBranch ? ` (${h.gitBranch})` : ""}</dd>
    <dt>Time</dt><dd>${time(h.firstAt)} to ${time(h.lastAt)} UTC</dd>
    <dt>Models</dt><dd>${h.models.length ? h.models.map((m) => `${m.model} (${n(m.calls)} calls)`).join(", ") : "none"}</dd>
    <dt>Tokens</dt><dd>${n(t.inputTokens)} in, ${n(t.outputTokens)} out, ${n(t.cacheCreationTokens)} cache write, ${n(t.cacheReadTokens)} cache read</dd>
    <dt>Cost</dt><dd><span data-value="session-cost" data-raw="${t.totalCost}">${usd(t.totalCost)}</span>${h.unpricedModels.length ? ` (no price for ${h.unpricedModels.join(", ")})` : ""}</dd>
    <dt>Messages</dt><dd><span data-value="session-messages" data-raw="${parts.total}">${n(parts.total)}</span></dd>
    ${h.subagents.length ? html`<dt>Subagents</dt><dd><ul class="plain">${h.subagents.map((x) => html`<li>${sub(x)}</li>`)}</ul></dd>` : ""}
    ${h.compactions ? html`<dt>Compacted</dt><dd>${n(h.compactions)} times</dd>` : ""}
  </dl>`;
}

/** A tool call as one line that unfolds to its input and, when it is on this page, its result; open when a link points into it. */
function toolCall(m: WindowMessage, result: WindowMessage | undefined, target: number | null): Html {
  const open = target !== null && (m.id === target || result?.id === target);
  return html`<details class="tool" id="m${m.id}"${open ? html` open` : ""}><summary><span class="arrow">→</span> ${oneLine(m.text)}</summary>
    <div class="body"><p class="label">call · ${time(m.at)}</p><pre>${m.text}</pre>${more(m)}
    ${result ? html`<p class="label" id="m${result.id}">result${result.tool ? ` (${result.tool})` : ""} · ${time(result.at)}</p><pre>${result.text}</pre>${more(result)}` : ""}</div></details>`;
}

function message(m: WindowMessage, result: WindowMessage | undefined, target: number | null): Html {
  switch (m.kind) {
    case "tool_call":
      return toolCall(m, result, target);
    case "tool_result":
      return html`<details class="tool result" id="m${m.id}"${m.id === target ? html` open` : ""}><summary><span class="arrow">←</span> result${m.tool ? ` (${m.tool})` : ""}: ${oneLine(m.text, 120)}</summary>
        <div class="body"><pre>${m.text}</pre>${more(m)}</div></details>`;
    case "compaction":
      return html`<div class="marker compaction" id="m${m.id}">compaction · ${time(m.at)}</div>${m.text ? html`<details class="tool"${m.id === target ? html` open` : ""}><summary>the summary it left (${n(m.length)} characters)</summary><div class="body"><pre>${m.text}</pre></div></details>` : ""}`;
    case "summary":
      return html`<p class="summary" id="m${m.id}">summary: ${m.text}</p>`;
    default:
      return html`<article class="turn ${m.role === "user" ? "user" : "assistant"}" id="m${m.id}"><p class="label"><strong>${m.role === "user" ? "user" : "assistant"}</strong>${m.model ? ` · ${m.model}` : ""} · <a href="#m${m.id}">${time(m.at)}</a></p>
        <div class="text">${m.text}</div>${more(m)}</article>`;
  }
}

/** The messages of one page, a marker where a subagent's begin; a result whose call is on the page is folded into it. */
function messages(list: WindowMessage[], parts: ShownParts, firstOnPage: string, target: number | null): Html {
  const calls = new Set(list.filter((m) => m.kind === "tool_call" && m.toolUseId).map((m) => m.toolUseId));
  const results = new Map(list.filter((m) => m.kind === "tool_result" && m.toolUseId && calls.has(m.toolUseId)).map((m) => [m.toolUseId!, m]));
  const agentType = new Map(parts.sessions.map((x) => [x.row.session_key, x.row.agent_type]));
  const out: Html[] = [];
  let session = firstOnPage;
  for (const m of list) {
    if (m.session !== session) {
      session = m.session;
      out.push(html`<div class="marker subagent" id="s-${m.session}">subagent ${m.session}${agentType.get(m.session) ? ` (${agentType.get(m.session)})` : ""}</div>`);
    }
    if (m.kind === "tool_result" && m.toolUseId && results.get(m.toolUseId) === m) continue;
    out.push(message(m, m.kind === "tool_call" && m.toolUseId ? results.get(m.toolUseId) : undefined, target));
  }
  return html`${out}`;
}

function pager(path: string, page: number, pages: number, total: number): Html {
  if (pages <= 1) return html``;
  const at = (p: number, label: string) => html`<a href="${path}?page=${p}">${label}</a>`;
  const from = page * PAGE_SIZE + 1, to = Math.min(total, (page + 1) * PAGE_SIZE);
  return html`<nav class="pager" aria-label="pages">${page > 0 ? html`${at(0, "« first")} ${at(page - 1, "‹ earlier")}` : ""}
    <span>messages ${n(from)}-${n(to)} of ${n(total)} (page ${page + 1} of ${n(pages)})</span>
    ${page < pages - 1 ? html`${at(page + 1, "later ›")} ${at(pages - 1, "last »")}` : ""}</nav>`;
}

/** The conversation view: show's header, then one page of the conversation (the page holding ?message= when given). */
export function conversationPage(store: Store, name: string, params: URLSearchParams): Html {
  onlyParams(params, ["page", "message"]);
  const s = sessionOf(store, name);
  const parts = showParts(store.db, s);
  const pages = Math.max(1, Math.ceil(parts.total / PAGE_SIZE));
  let page = Math.min(whole(params, "page", 0, Number.MAX_SAFE_INTEGER), pages - 1);
  const target = params.get("message") ? whole(params, "message", 0, Number.MAX_SAFE_INTEGER) : null;
  if (target !== null) {
    const at = messagePosition(store.db, parts, target);
    if (at !== null) page = Math.floor(at / PAGE_SIZE);
  }
  const list = messageWindow(store.db, parts, page * PAGE_SIZE, PAGE_SIZE);
  // the session the first message shown belongs to: a page that starts inside a subagent's says so
  const first = list[0]?.session ?? s.session_key;
  const path = `/sessions/${encodeURIComponent(name)}`;
  const parent = s.parent_session ? html`<p class="muted">A subagent of <a href="/sessions/${encodeURIComponent(s.parent_session)}">${s.parent_session}</a>.</p>` : "";
  return html`${header(showHeader(store.db, s, parts, prices()), parts)}${parent}
    ${searchForm(new URLSearchParams({ session: s.session_key }), true)}
    ${pager(path, page, pages, parts.total)}
    <div class="conversation">${first !== s.session_key ? html`<div class="marker subagent">subagent ${first} (continued)</div>` : ""}${messages(list, parts, first, target)}</div>
    ${parts.total === 0 ? html`<p class="muted">No messages archived for this session (indexed with --no-archive, or before the archive).</p>` : ""}
    ${pager(path, page, pages, parts.total)}`;
}
