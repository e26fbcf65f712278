// `sluice serve` over real HTTP on the samples indexed by the real binary: the API answers what
// `report --json` and `stats --json` print, /metrics passes promtool and its totals are the
// reports', the database is never written, and the gate holds: no token, no other address; a
// wrong token is 401; a foreign Host header is refused; strict CSP and no CORS on every answer.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { query, run, start, waitFor } from "./helpers";
import { transcript } from "./transcripts";
import { BIN, indexedSamples, serve, type Served } from "./serve-helpers";

let s: Awaited<ReturnType<typeof indexedSamples>>;
let open: Served;
/** The database file and its WAL, if any: a write would change one of them. */
const hash = (p: string) => createHash("sha256").update(readFileSync(p)).update(existsSync(`${p}-wal`) ? readFileSync(`${p}-wal`) : "").digest("hex");
let dbHash = "";

/** A key sluice masks, a compaction, and a session long enough to be paged (451 messages). */
const SECRET = "sk-ant-api03-Zq7vN2xK9pL4mW8rT1yB6cD3fG5hJ0sA";
function extraSessions(claude: string) {
  const dir = join(claude, "projects", "-work-extra");
  mkdirSync(dir, { recursive: true });
  const at = "2026-03-01T10:00:00.000Z";
  const base = { sessionId: "secret-1", cwd: "/work/extra", version: "2.0.42", timestamp: at };
  writeFileSync(join(dir, "secret-1.jsonl"), [
    { ...base, type: "user", uuid: "s-u1", message: { role: "user", content: `rotate the zebracanary key: export ANTHROPIC_API_KEY=${SECRET} then retry` } },
    { ...base, type: "system", subtype: "compact_boundary", uuid: "s-c1", content: "Conversation compacted" },
    { ...base, type: "user", uuid: "s-u2", isCompactSummary: true, message: { role: "user", content: "This session is being continued: the zebracanary key was rotated." } },
    { ...base, type: "assistant", uuid: "s-a1", requestId: "req_s1", message: { model: "claude-sonnet-4-5-20250929", id: "msg_s1", type: "message", role: "assistant",
      content: [{ type: "text", text: "Rotated." }, { type: "tool_use", id: "toolu_s1", name: "Bash", input: { command: "echo rotated" } }],
      usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } },
    { ...base, type: "user", uuid: "s-u3", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_s1", content: "rotated" }] } },
  ].map((x) => JSON.stringify(x)).join("\n") + "\n");
  // three recent days of calls, one failing each day (the samples are older than the 90 days charted)
  writeFileSync(join(dir, "recent-tools.jsonl"), [0, 1, 2].flatMap((d) => {
    const t = { sessionId: "recent-tools", cwd: "/work/extra", version: "2.0.42", timestamp: new Date(Date.now() - (d + 1) * 86_400_000).toISOString() };
    return [
      { ...t, type: "assistant", uuid: `r-a${d}`, requestId: `req_r${d}`, message: { model: "claude-sonnet-4-5-20250929", id: `msg_r${d}`, type: "message", role: "assistant",
        content: [{ type: "tool_use", id: `toolu_r${d}a`, name: "Bash", input: { command: "make" } }, { type: "tool_use", id: `toolu_r${d}b`, name: "mcp__github__get_issue", input: {} }],
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } },
      { ...t, type: "user", uuid: `r-u${d}`, message: { role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_r${d}a`, content: "make: *** failed", is_error: true }, { type: "tool_result", tool_use_id: `toolu_r${d}b`, content: "{}" }] } },
    ];
  }).map((x) => JSON.stringify(x)).join("\n") + "\n");
  writeFileSync(join(dir, "long-1.jsonl"), transcript("long-1", Array.from({ length: 450 }, (_, i) => ({ at: Date.parse(at) + i * 1000, input: 10, output: 2 }))));
}

beforeAll(async () => {
  s = await indexedSamples("sluice-serve-", { budget: { daily: 5, monthly: 100 } });
  extraSessions(s.claude);
  const r = await run(BIN, ["index", "--claude", s.claude, "--codex", s.codex, "--db", s.db], { env: s.env });
  if (r.code !== 0) throw new Error(r.stderr);
  dbHash = hash(s.db);
  open = await serve(s.db, s.env);
});
afterAll(async () => {
  await open?.stop();
  s?.cleanup();
});

const get = (path: string, init: RequestInit = {}) => fetch(open.url + path, init);

describe("the API is the CLI's --json", () => {
  const cases: Array<[string, string[]]> = [
    ["daily", []], ["weekly", []], ["monthly", []], ["session", []], ["models", []], ["blocks", []],
    ["daily", ["since=2025-06-01", "until=2025-12-31"]], ["daily", ["agent=codex"]], ["monthly", ["tz=Pacific/Auckland"]],
    ["weekly", ["start-of-week=monday"]], ["session", ["subagents=1", "order=desc"]], ["blocks", ["token-limit=max"]], ["daily", ["instances=1"]],
  ];
  for (const [kind, params] of cases) {
    test(`/api/report/${kind}?${params.join("&")} equals report ${kind} --json`, async () => {
      const r = await get(`/api/report/${kind}?${params.join("&")}`);
      expect(r.status).toBe(200);
      const flags = params.flatMap((p) => {
        const [k, v] = p.split("=");
        return v === "1" ? [`--${k}`] : [`--${k}`, v!];
      });
      const cli = await s.cli("report", kind, ...flags, "--json");
      expect(await r.json()).toEqual(cli);
    });
  }

  test("/api/tools: calls, errors and last call per tool and per day as one GROUP BY over every row counts them", async () => {
    const api: any = await (await get("/api/tools")).json();
    const tools = query(s.db, "SELECT kind, name, count(*) AS calls, coalesce(sum(is_error = 1), 0) AS errors, max(at) AS lastAt FROM invocations GROUP BY kind, name ORDER BY calls DESC, name, kind");
    expect(tools.length).toBeGreaterThan(10);
    expect(api.tools.map(({ errorRate, ...t }: any) => t)).toEqual(tools);
    const perDay = query(s.db, "SELECT substr(at, 1, 10) AS day, kind, count(*) AS calls, coalesce(sum(is_error = 1), 0) AS errors FROM invocations WHERE at >= ? GROUP BY 1, 2 ORDER BY 1, 2", api.since);
    expect(api.perDay).toEqual(perDay);
    expect(perDay.length).toBe(6); // three days, two kinds (tool, mcp)
    expect(perDay.reduce((a: number, d: any) => a + d.errors, 0)).toBe(3);
    expect(api.totals.calls).toBe(tools.reduce((a: number, t: any) => a + t.calls, 0));
  });

  test("/api/stats equals stats --json (with the config file's budget)", async () => {
    const api: any = await (await get("/api/stats")).json();
    const cli = await s.cli("stats", "--json");
    expect(api.budget.monthly.budget).toBe(100);
    expect(api).toEqual(cli);
  });

  test("a mistake is 400 with the CLI's line; an unknown parameter too; no file is read through a parameter", async () => {
    const bad = await get("/api/report/daily?since=yesterdayish");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toContain("--since");
    expect((await get("/api/report/daily?prices=/etc/passwd")).status).toBe(400);
    expect((await get("/api/report/nope")).status).toBe(400);
    expect((await get("/nope")).status).toBe(404);
  });
});

describe("search", () => {
  const cases: string[][] = [
    ["q=timeline"], ["q=timeline", "limit=3"], ["q=timeline", "role=tool"], ["q=the", "agent=codex", "limit=50"], ["q=\"vis-groups\""],
    ["q=timeline", "since=2025-07-05", "until=2025-07-05"], ["q=timeline", "project=claude-code-log"], ["q=tim*", "session=0d3a8e6f"], ["q=zebracanary"],
  ];
  for (const params of cases) {
    test(`/api/search?${params.join("&")} equals search --json`, async () => {
      const q = new URLSearchParams(params.join("&"));
      const r = await get(`/api/search?${q}`);
      expect(r.status).toBe(200);
      const flags = [...q].filter(([k]) => k !== "q").flatMap(([k, v]) => [`--${k}`, v]);
      const cli = await s.cli("search", q.get("q")!, ...flags, "--json");
      expect(cli.results.length).toBeGreaterThan(0);
      expect(await r.json()).toEqual(cli);
    });
  }

  test("a query FTS5 cannot read: the CLI's one line, 400 from the API and on the page (not a 500); a bad filter too", async () => {
    const cli = await run(BIN, ["search", '"NEAR(', "--db", s.db], { env: s.env });
    const line = cli.stderr.trim().replace(/^\[error\] /, "");
    expect(line).toContain("not one FTS5 can read");
    const api = await get(`/api/search?q=${encodeURIComponent('"NEAR(')}`);
    expect(api.status).toBe(400);
    expect(((await api.json()) as any).error).toBe(line);
    const page = await get(`/search?q=${encodeURIComponent('"NEAR(')}`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('role="alert"');
    expect(text).toContain("not one FTS5 can read (unterminated string)");
    expect((await get("/api/search?q=x&role=robot")).status).toBe(400);
    expect((await get("/api/search?q=x&since=soon")).status).toBe(400);
    expect((await get("/api/search?q=x&prices=/etc/passwd")).status).toBe(400);
    expect((await get("/search?q=x&since=soon")).status).toBe(200);
  });

  test("credentials are masked as sluice search masks them: the API, the results page and the conversation", async () => {
    const api: any = await (await get("/api/search?q=zebracanary&role=user")).json();
    expect(JSON.stringify(api)).toContain("ANTHROPIC_API_KEY=[masked: Anthropic key]");
    expect(JSON.stringify(api)).not.toContain("[masked: secret] Anthropic key]");
    for (const path of ["/api/search?q=zebracanary", "/search?q=zebracanary", "/sessions/secret-1", "/api/sessions/secret-1"]) {
      const body = await (await get(path)).text();
      expect(body).not.toContain(SECRET.slice(10));
      expect(body).toContain("masked");
    }
  });

  test("the results page marks the matched words and links each hit to its message in the conversation", async () => {
    const page = await (await get("/search?q=zebracanary")).text();
    expect(page).toContain("<mark>zebracanary</mark>");
    const id = query(s.db, "SELECT m.id FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.session_key = 'claude:secret-1' AND m.kind = 'prompt'")[0].id;
    expect(page).toContain(`href="/sessions/claude%3Asecret-1?message=${id}#m${id}"`);
    const view = await get(`/sessions/claude%3Asecret-1?message=${id}`);
    expect(view.status).toBe(200);
    expect(await view.text()).toContain(`id="m${id}"`);
  });
});

describe("the conversation view", () => {
  test("/api/sessions/ID equals show --json, by id, prefix and key, with subagents", async () => {
    for (const name of ["0d3a8e6f", "7acd37a8-2745-4b58-a8a9-46164b22ad9e", "claude:cb2e607c-c758-415a-8b45-c49e4631906a", "secret-1", "rollout-2026-02-23T12-47-42"]) {
      const r = await get(`/api/sessions/${encodeURIComponent(name)}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual(await s.cli("show", name, "--json"));
    }
  });

  test("windows of /api/sessions (offset, limit) add up to show's messages; Link names the next", async () => {
    const cli = await s.cli("show", "long-1", "--json");
    expect(cli.messages.length).toBe(451);
    const got: any[] = [];
    let next: string | null = "/api/sessions/long-1?limit=200";
    while (next) {
      const r = await get(next);
      const body: any = await r.json();
      expect({ ...body, messages: [] }).toEqual({ ...cli, messages: [] });
      got.push(...body.messages);
      next = /<([^>]+)>; rel="next"/.exec(r.headers.get("link") ?? "")?.[1] ?? null;
    }
    expect(got).toEqual(cli.messages);
    expect((await get("/api/sessions/long-1?limit=20000")).status).toBe(400);
  });

  test("the page shows show's header, subagents and compactions marked, tool calls folded; a long session is paged", async () => {
    const page = await (await get("/sessions/secret-1")).text();
    expect(page).toContain('class="marker compaction"');
    expect(page).toMatch(/<details class="tool" id="m\d+"><summary><span class="arrow">→<\/span> Bash: echo rotated<\/summary>/);
    const shown = await s.cli("show", "secret-1", "--json");
    expect(page).toContain(`data-value="session-cost" data-raw="${shown.totals.totalCost}"`);
    const sub = await (await get("/sessions/7acd37a8")).text();
    expect(sub).toContain('class="marker subagent"');
    const long = await (await get("/sessions/long-1")).text();
    expect(long.match(/<article class="turn/g)!.length).toBe(200);
    expect(long).toContain("messages 1-200 of 451 (page 1 of 3)");
    const last = query(s.db, "SELECT max(m.id) AS id FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.session_key = 'claude:long-1'")[0].id;
    const third = await (await get(`/sessions/long-1?message=${last}`)).text();
    expect(third).toContain("messages 401-451 of 451 (page 3 of 3)");
    expect(third).toContain(`id="m${last}"`);
  });

  test("an unknown session is 404 with show's line; a bad parameter 400", async () => {
    const page = await get("/sessions/no-such-session");
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("no session matches &#39;no-such-session&#39;");
    const api = await get("/api/sessions/no-such-session");
    expect(api.status).toBe(404);
    expect(((await api.json()) as any).error).toContain("no session matches 'no-such-session'");
    expect((await get("/sessions/long-1?page=x")).status).toBe(400);
    expect((await get("/sessions/long-1?nope=1")).status).toBe(400);
  });
});

describe("a database without a deep index", () => {
  test("the pages say to run sluice index; the reports are 409 with that line; health and /metrics answer", async () => {
    const db = join(s.dir, "capture-only.db");
    const lines = join(s.dir, "sse_lines.jsonl");
    writeFileSync(lines, JSON.stringify({ t: "2026-01-24T10:15:02.000Z", source: "claude", sid: "s1", flow_id: "f1", round: 0, event: "ping", metadata: "{}", line: "event: ping" }) + "\n");
    expect((await run(BIN, ["ingest", lines, "--db", db], { env: s.env })).code).toBe(0);
    const t = await serve(db, s.env);
    try {
      const page = await fetch(t.url + "/sessions");
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("no deep index yet: run &#39;sluice index&#39;");
      const api = await fetch(t.url + "/api/report/daily");
      expect(api.status).toBe(409);
      expect(((await api.json()) as any).error).toContain("run 'sluice index'");
      expect((await fetch(t.url + "/health")).status).toBe(200);
      const metrics = await (await fetch(t.url + "/metrics")).text();
      expect(metrics).toMatch(/^sluice_capture_lines_total\{source="[^"]+sse_lines.jsonl"\} 1$/m);
    } finally {
      await t.stop();
    }
  });
});

describe("team stores", () => {
  test("a store pushed to: the health page and /metrics show how many local changes it lacks; promtool passes", async () => {
    // a copy of the index that pushed once (its push_targets row) and changed three times since
    const db = join(s.dir, "pushed.db");
    writeFileSync(db, readFileSync(s.db));
    const d = new Database(db);
    d.run("INSERT INTO push_targets (target, device_id, through_seq, pushed_at) VALUES ('postgres://sluice@db.internal/usage', 'dev-1', 2, '2026-12-03T08:00:00.000Z')");
    for (const [i, key] of [[1, 11], [2, 12], [3, 13], [4, 14], [5, 15]]) d.run("INSERT INTO push_log (tbl, row_key, seq) VALUES (2, ?, ?)", [key!, i!]);
    d.close();
    const t = await serve(db, s.env);
    try {
      const page = await (await fetch(t.url + "/health")).text();
      expect(page).toContain("Team stores");
      expect(page).toMatch(/<td>postgres:\/\/sluice@db.internal\/usage<\/td><td class="num">3<\/td><td>2026-12-03T08:00:00.000Z<\/td><td>not running<\/td>/);
      const text = await (await fetch(t.url + "/metrics")).text();
      expect(text).toMatch(/^sluice_push_behind_changes\{target="postgres:\/\/sluice@db.internal\/usage"\} 3$/m);
      const p = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stderr: "pipe", stdout: "pipe" });
      expect({ code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() }).toEqual({ code: 0, out: "" });
    } finally {
      await t.stop();
    }
  });
});

describe("/metrics", () => {
  test("passes promtool check metrics; tokens and cost per model add up to report daily's totals", async () => {
    const text = await (await get("/metrics")).text();
    const p = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stderr: "pipe", stdout: "pipe" });
    expect({ code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() }).toEqual({ code: 0, out: "" });
    const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
    const daily = await s.cli("report", "daily", "--json");
    expect(sum("sluice_tokens_total")).toBe(daily.totals.totalTokens);
    expect(Math.abs(sum("sluice_cost_usd_total") - daily.totals.totalCost)).toBeLessThan(1e-9);
    expect(text).toMatch(/^sluice_health\{verdict="ok"\} [01]$/m);
    expect(text).toMatch(/^sluice_wal_bytes \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });
});

/** The commit latency histogram of `writer` in a /metrics text: its buckets (cumulative), sum and count. */
function commitHistogram(text: string, writer: string) {
  const buckets = [...text.matchAll(new RegExp(`^sluice_commit_duration_seconds_bucket\\{writer="${writer}",le="([^"]+)"\\} (\\d+)$`, "gm"))].map((m) => [m[1]!, Number(m[2])] as const);
  const value = (part: string) => Number(text.match(new RegExp(`^sluice_commit_duration_seconds_${part}\\{writer="${writer}"\\} (\\S+)$`, "m"))?.[1] ?? NaN);
  return { buckets, sum: value("sum"), count: value("count") };
}

describe("commit latency", () => {
  test("a live capture and an index follower save their commit latencies; /metrics shows them as histograms that promtool passes", async () => {
    // their own database: the shared one must stay unwritten (the last test)
    const dir = join(s.dir, "latency");
    const claude = join(dir, "claude", "projects", "-work-demo"), codex = join(dir, "codex");
    mkdirSync(claude, { recursive: true });
    mkdirSync(codex, { recursive: true });
    const session = join(claude, "lat-1.jsonl");
    writeFileSync(session, transcript("lat-1", [{ at: "2026-03-02T10:00:00.000Z", input: 10, output: 5 }]));
    const lines = join(dir, "sse_lines.jsonl");
    const line = (i: number) => JSON.stringify({ t: "2026-03-02T10:15:02.000Z", source: "claude", sid: "s1", flow_id: `f${i}`, round: 0, event: "ping", metadata: "{}", line: "event: ping" }) + "\n";
    writeFileSync(lines, line(0));
    const db = join(dir, "sluice.db");
    const follower = start(BIN, ["index", "--follow", "--claude", join(dir, "claude"), "--codex", codex, "--db", db, "--poll-ms", "100"], { env: s.env });
    await waitFor("the index follower's live image", () => follower.stderr().includes("handing over"));
    const capture = start(BIN, ["ingest", lines, "--follow", "--db", db, "--poll-ms", "50"], { env: s.env });
    await waitFor("the capture to follow", () => capture.stderr().includes("following"));
    const t = await serve(db, s.env);
    try {
      let text = "";
      for (let i = 1; i <= 5; i++) {
        // each a commit of its own: the capture's batch window is 50 ms, the follower's settle 100 ms
        appendFileSync(lines, line(i));
        appendFileSync(session, transcript("lat-1", [{ at: Date.parse("2026-03-02T10:00:00.000Z") + i * 1000, input: 10, output: 5 }]));
        await Bun.sleep(300);
      }
      // the capture saves its latencies with its heartbeat (every second), the follower with its pass's release
      await waitFor("both writers' latencies in /metrics", async () => {
        text = await (await fetch(t.url + "/metrics")).text();
        return commitHistogram(text, "capture").count >= 5 && commitHistogram(text, "index").count >= 1;
      });
      expect(text).toContain("# TYPE sluice_commit_duration_seconds histogram");
      for (const writer of ["capture", "index"]) {
        const h = commitHistogram(text, writer);
        expect(h.buckets.at(-1)).toEqual(["+Inf", h.count]);
        expect(h.buckets.map(([, n]) => n)).toEqual(h.buckets.map(([, n]) => n).sort((a, b) => a - b)); // cumulative
        expect(h.sum).toBeGreaterThan(0);
        expect(h.sum).toBeLessThan(h.count * 10); // seconds, not milliseconds
      }
      const p = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stderr: "pipe", stdout: "pipe" });
      expect({ code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() }).toEqual({ code: 0, out: "" });
      // a writer that stopped has no latency series: they describe running writers
      capture.proc.kill("SIGTERM");
      expect(await capture.exited).toBe(0);
      text = await (await fetch(t.url + "/metrics")).text();
      expect(commitHistogram(text, "capture").buckets).toEqual([]);
      expect(commitHistogram(text, "index").count).toBeGreaterThanOrEqual(1);
    } finally {
      await t.stop();
      capture.proc.kill("SIGKILL");
      follower.proc.kill("SIGTERM");
      await follower.exited;
    }
  }, 30_000);
});

describe("safe by default", () => {
  test("every answer: strict CSP, nosniff, no CORS; OPTIONS and POST refused", async () => {
    for (const path of ["/", "/api/report/daily", "/metrics", "/static/app.js"]) {
      const r = await get(path, { headers: { origin: "http://evil.example" } });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(r.headers.get("content-security-policy")).not.toContain("unsafe-inline");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
    }
    expect((await get("/api/report/daily", { method: "OPTIONS" })).status).toBe(405);
    expect((await get("/api/report/daily", { method: "POST" })).status).toBe(405);
  });

  test("a foreign Host header (DNS rebinding) is refused; localhost and 127.0.0.1 are not", async () => {
    const port = new URL(open.url).port;
    const curl = (host: string) => Bun.spawnSync(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Host: ${host}`, `${open.url}/api/report/daily`]).stdout.toString();
    expect(curl(`evil.example:${port}`)).toBe("421");
    expect(curl("127.0.0.1.evil.example")).toBe("421");
    expect(curl(`localhost:${port}`)).toBe("200");
    expect(curl(`127.0.0.1:${port}`)).toBe("200");
  });

  test("another address without a token is refused at start; a short token too", async () => {
    const r = await run(BIN, ["serve", "--db", s.db, "--host", "0.0.0.0", "--port", "0"], { env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--token-file");
    const short = join(s.dir, "short-token");
    writeFileSync(short, "abc\n");
    const r2 = await run(BIN, ["serve", "--db", s.db, "--port", "0", "--token-file", short], { env: s.env });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("at least 16");
  });

  test("a port in use or a bad port: exit 2 with one line", async () => {
    const port = new URL(open.url).port;
    const busy = await run(BIN, ["serve", "--db", s.db, "--port", port], { env: s.env });
    expect(busy.code).toBe(2);
    expect(busy.stderr.trim().split("\n")).toHaveLength(1);
    expect(busy.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    const bad = await run(BIN, ["serve", "--db", s.db, "--port", "70000"], { env: s.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--port 70000");
  });

  test("with a token: none or a wrong one is 401; the bearer is let in; a login sets an HttpOnly SameSite=Strict cookie that is", async () => {
    const file = join(s.dir, "token");
    const token = "f".repeat(8) + "0123456789abcdef0123";
    writeFileSync(file, token + "\n", { mode: 0o600 });
    const t = await serve(s.db, s.env, "--token-file", file);
    try {
      const at = (path: string, init: RequestInit = {}) => fetch(t.url + path, { redirect: "manual", ...init });
      expect((await at("/api/report/daily")).status).toBe(401);
      expect((await at("/metrics", { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
      expect((await at("/metrics", { headers: { authorization: "Bearer " } })).status).toBe(401);
      expect((await at("/api/report/daily", { headers: { cookie: "sluice_session=guess" } })).status).toBe(401);
      expect((await at("/metrics", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const page = await at("/", { headers: { accept: "text/html" } });
      expect(page.status).toBe(401);
      expect(await page.text()).toContain('action="/login"');
      expect((await at("/login", { method: "POST", body: new URLSearchParams({ token: "wrong-wrong-wrong" }) })).status).toBe(401);
      const login = await at("/login", { method: "POST", body: new URLSearchParams({ token }) });
      expect(login.status).toBe(303);
      const cookie = login.headers.get("set-cookie")!;
      expect(cookie).toMatch(/^sluice_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
      expect((await at("/api/report/daily", { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  test("the database is never written: its bytes are the same after every request above", async () => {
    await get("/");
    expect(hash(s.db)).toBe(dbHash);
    expect(statSync(s.db).mode & 0o777).toBe(0o600);
  });
});
