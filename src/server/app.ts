// The HTTP server: Bun's own, one process, the database read-only. Every request is checked in
// this order: the Host header (DNS rebinding), the token (when one is set), then routed to a page,
// the API, the event stream, /metrics or an embedded asset. Answers carry the security headers;
// none carries CORS headers. Page and report answers are cached until the database changes.

import { SluiceError } from "../runtime/errors";
import { COOKIE, Gate, hostChecker, SECURITY_HEADERS } from "./auth";
import { BadRequest, latencyJson, noIndex, reportJson, statsJson, statusJson } from "./api";
import { toolsJson } from "./tools";
import { ASSETS } from "./assets";
import { Live } from "./live";
import { metricsText } from "./metrics";
import { healthPage, layout, loginPage, modelsPage, overviewPage, PAGES, sessionsPage, toolsPage, type PagePath } from "./pages";
import { conversationJson, conversationPage, SessionNotFound } from "./conversation";
import { searchJson, searchPage } from "./search";
import { html, type Html } from "./html";
import { Store } from "./store";

export interface ServeOptions {
  dbPath: string;
  host: string;
  port: number;
  token: string | null;
  allowHosts: string[];
}

const PAGE_OF: Record<PagePath, (s: Store, p: URLSearchParams) => Html> = {
  "/": overviewPage, "/sessions": sessionsPage, "/models": modelsPage, "/tools": toolsPage, "/health": healthPage,
};
/** Pages beside the five in the menu: the search and one session's conversation (both under Sessions). */
const CONVERSATION = "/sessions/";
const isPage = (path: string) => path in PAGES || path === "/search" || (path.startsWith(CONVERSATION) && path.length > CONVERSATION.length);
const JSON_TYPE = "application/json; charset=utf-8";
const HTML_TYPE = "text/html; charset=utf-8";
/** Answers that depend on the time as well as the data are cached this long at most. */
const CACHE_MS = 5_000;

function respond(body: string | ReadableStream | null, status: number, type: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, "content-type": type, ...extra } });
}
const json = (v: unknown, status = 200) => respond(JSON.stringify(v), status, "application/json; charset=utf-8");
const text = (t: string, status: number) => respond(t + "\n", status, "text/plain; charset=utf-8");

export class App {
  readonly store: Store;
  readonly live: Live;
  private readonly gate: Gate;
  private readonly hostOk: (req: Request) => boolean;
  private readonly cache = new Map<string, { version: string; at: number; made: Made }>();
  /** When the last request came (performance.now()): cli/serve.ts gives back pages once it has been idle a while. */
  lastRequestAt = performance.now();

  constructor(private readonly o: ServeOptions) {
    this.store = new Store(o.dbPath);
    this.live = new Live(this.store);
    this.gate = new Gate(o.token);
    this.hostOk = hostChecker(o.host, o.allowHosts);
  }

  async fetch(req: Request, server: { timeout(req: Request, s: number): void }): Promise<Response> {
    this.lastRequestAt = performance.now();
    if (!this.hostOk(req)) return text("this server answers only to its own host names (see --allow-host)", 421);
    const url = new URL(req.url);
    if (url.pathname === "/login") return this.login(req);
    if (!this.gate.allows(req)) {
      const page = req.method === "GET" && (req.headers.get("accept") ?? "").includes("text/html");
      return page ? respond(loginPage(false), 401, "text/html; charset=utf-8") : text("a token is needed: Authorization: Bearer <token>, or log in at /login", 401);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return text(`${req.method} is not allowed here`, 405);
    const asset = ASSETS[url.pathname];
    if (asset) return respond(asset.body, 200, asset.type, { "cache-control": "no-cache" });
    if (url.pathname === "/api/events") {
      server.timeout(req, 0);
      return this.live.stream();
    }
    try {
      return this.route(url, req);
    } catch (err) {
      if (err instanceof BadRequest) return json({ error: err.message }, 400);
      if (err instanceof SluiceError) return json({ error: err.message }, 409);
      throw err;
    }
  }

  private route(url: URL, req: Request): Response {
    const path = url.pathname;
    if (path === "/metrics") return respond(metricsText(this.store), 200, "text/plain; version=0.0.4; charset=utf-8");
    if (path === "/api/stats") return json(statsJson(this.store));
    if (path === "/api/status") return json(statusJson(this.store));
    if (!isPage(path) && !path.startsWith("/api/")) return text(`no page at ${path}; the pages are ${Object.keys(PAGES).join(", ")}, /search, /sessions/ID; the API under /api/`, 404);
    if (!this.store.hasIndex() && path !== "/health") {
      if (path.startsWith("/api/")) throw noIndex(this.store);
      return respond(layout(path, titleOf(path), html`<h1>${titleOf(path)}</h1><p>${noIndex(this.store).message}.</p>`), 200, HTML_TYPE);
    }
    const fragment = req.headers.get("x-sluice-fragment") === "1";
    return this.cached(url, () => (path.startsWith("/api/") ? this.api(path, url.searchParams) : this.page(path, url.searchParams, fragment)), fragment ? "1" : "");
  }

  private api(path: string, params: URLSearchParams): Made {
    if (path.startsWith("/api/report/")) return [JSON.stringify(reportJson(this.store, path.slice("/api/report/".length), params)), JSON_TYPE];
    if (path === "/api/latency") return [JSON.stringify(latencyJson(this.store)), JSON_TYPE];
    if (path === "/api/tools") return [JSON.stringify(toolsJson(this.store)), JSON_TYPE];
    if (path === "/api/search") return [JSON.stringify(searchJson(this.store, params)), JSON_TYPE];
    if (path.startsWith("/api/sessions/") && path.length > "/api/sessions/".length) {
      const { body, link } = conversationJson(this.store, nameOf(path, "/api/sessions/"), params);
      return [JSON.stringify(body), JSON_TYPE, link ? { link } : {}];
    }
    throw new NotFound();
  }

  /** A page's <main> (what a live update fetches), or the whole page; a mistake in its parameters is a page that says so. */
  private page(path: string, params: URLSearchParams, fragment: boolean): Made {
    let main: Html, status = 200;
    try {
      if (path === "/search") main = searchPage(this.store, params);
      else if (path.startsWith(CONVERSATION)) main = conversationPage(this.store, nameOf(path, CONVERSATION), params);
      else main = PAGE_OF[path as PagePath](this.store, params);
    } catch (err) {
      if (!(err instanceof BadRequest) && !(err instanceof SessionNotFound)) throw err;
      status = err instanceof SessionNotFound ? 404 : 400;
      main = html`<h1>${titleOf(path)}</h1><p class="bad" role="alert">${err.message}</p>`;
    }
    return [fragment ? main.text : layout(path, titleOf(path), main), HTML_TYPE, {}, status];
  }

  /** An answer built once per database version (and at most CACHE_MS old). */
  private cached(url: URL, make: () => Made, variant: string): Response {
    const key = `${variant}|${url.pathname}?${url.searchParams}`;
    const version = this.live.current();
    const hit = this.cache.get(key);
    if (hit && hit.version === version && Date.now() - hit.at < CACHE_MS) return respond(hit.made[0], hit.made[3] ?? 200, hit.made[1], hit.made[2]);
    let made: Made;
    try {
      made = make();
    } catch (err) {
      if (err instanceof NotFound) return text(`no API at ${url.pathname}`, 404);
      if (err instanceof SessionNotFound) return json({ error: err.message }, 404);
      throw err;
    }
    if (this.cache.size > 200) this.cache.clear();
    this.cache.set(key, { version, at: Date.now(), made });
    // a report over the whole index leaves megabytes of rows behind: collect them now, not at the
    // heap's next growth, to keep the server's RSS flat (a few ms, paid only when the data changed)
    Bun.gc(true);
    return respond(made[0], made[3] ?? 200, made[1], made[2]);
  }

  /** GET: the form; POST: the token, once, for an HttpOnly, SameSite=Strict cookie. */
  private async login(req: Request): Promise<Response> {
    if (req.method === "GET") return respond(loginPage(false), 200, "text/html; charset=utf-8");
    if (req.method !== "POST") return text(`${req.method} is not allowed here`, 405);
    const origin = req.headers.get("origin");
    if (origin && origin !== "null" && URL.parse(origin)?.host !== req.headers.get("host")) return text("a login from another site is refused", 403);
    const form = await req.formData().catch(() => null);
    const token = form?.get("token");
    if (this.gate.open) return respond(null, 303, "text/plain", { location: "/" });
    if (typeof token !== "string" || !this.gate.tokenMatches(token)) return respond(loginPage(true), 401, "text/html; charset=utf-8");
    return respond(null, 303, "text/plain", { location: "/", "set-cookie": `${COOKIE}=${this.gate.login()}; HttpOnly; SameSite=Strict; Path=/` });
  }

  stop() {
    this.live.stop();
    this.store.close();
  }
}

class NotFound extends Error {}

/** An answer: its body, its type, extra headers, its status (200 when left out). */
type Made = [string, string, Record<string, string>?, number?];

/** The title of a page; /search and a conversation are under Sessions. */
function titleOf(path: string): string {
  if (path === "/search") return "Search";
  if (path.startsWith(CONVERSATION)) return "Session";
  return PAGES[path as PagePath];
}

/** The session a path names, percent-decoded (an id may hold a slash: a subagent's <parent>/agent-<id>). */
function nameOf(path: string, prefix: string): string {
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    throw new BadRequest(`${path} is not a valid session path; use /sessions/ID with the id percent-encoded`);
  }
}
