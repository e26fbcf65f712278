// `sluice push` into a real PostgreSQL (test/postgres.ts starts one; nothing is skipped): two
// devices' totals, exactly once through kill -9 at random moments and a server restart mid-push,
// a rewritten file updated rather than doubled, the failures (wrong password, missing database,
// newer schema, server down) in one line with nothing written, copies of a database, privacy,
// and a database from before migration 10.
//
// The store is checked against the local database itself (`expectMirror`: every pushed table's
// rows, column by column), not only against another push.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAgentCorpus } from "../bench/agent-corpus";
import { generateFile } from "../bench/generate";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from "../src/db/schema";
import { ARCHIVE_COLUMNS, PUSH_TABLES } from "../src/team/tables";
import { storeUrl } from "../src/team/url";
import { one, query, ROOT, RUNNERS, run, SHARED, start, tempDir, waitFor } from "./helpers";
import { PG_PASSWORD, TestPostgres } from "./postgres";

const BIN = RUNNERS[1]!.cmd;
const ENV = { PGPASSWORD: PG_PASSWORD };
const sluice = (args: string[], env: Record<string, string> = {}) => run(BIN, args, { env: { ...ENV, ...env } });

let pg: TestPostgres;
let tmp: { dir: string; cleanup: () => void };
/** A copy of the samples that the tests may append to and rewrite. */
let samples: string;

beforeAll(async () => {
  pg = await new TestPostgres().init();
  tmp = tempDir("sluice-push-");
  samples = join(tmp.dir, "samples");
  for (const d of ["claude", "codex"]) cpSync(join(SHARED, "samples", d), join(samples, d), { recursive: true });
  for (const f of walk(samples)) chmodSync(f, 0o644);
}, 120_000);

afterAll(() => {
  pg?.destroy();
  tmp?.cleanup();
});

/** The files under a directory; its directories made writable on the way (the samples are read-only, their copies are appended to). */
function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      chmodSync(p, 0o755);
      yield* walk(p);
    } else yield p;
  }
}

const fresh = (name: string) => join(tmp.dir, name);

/** Indexes a samples tree (and, with `capture`, an sse_lines file for the flows) into `db`. */
async function index(db: string, root = samples, capture?: string) {
  if (capture) expect((await sluice(["ingest", capture, "--db", db])).code).toBe(0);
  const r = await sluice(["index", "--claude", `${root}/claude/projects,${root}/claude/synthetic`, "--codex", `${root}/codex`, "--db", db, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function push(url: string, db: string, ...more: string[]) {
  const r = await sluice(["push", url, "--db", db, "--json", ...more]);
  if (r.code !== 0) throw new Error(`push exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const deviceId = (db: string) => one(db, "SELECT device_id FROM device").device_id as string;

/** The pushed tables: store table, its rows' order, and how a local row's id is called there. */
const TABLES: Array<[string, string, string | null]> = [
  ["sessions", "local_id", "local_id"], ["turns", "local_id", "local_id"], ["invocations", "local_id", "local_id"], ["agent_files", "file_id", "file_id"],
  ["models", "id", null], ["usage_buckets", "bucket, model", null], ["flows", "flow_id", null],
];

const norm = (rows: any[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));

/**
 * The store holds exactly the local rows of this device: for each table, every column the two
 * share (the archive's only with `withArchive`), the local id under its store name.
 */
async function expectMirror(url: string, db: string, withArchive = false) {
  const store = pg.connect(new URL(url).pathname.slice(1));
  try {
    const [{ device }] = await store`SELECT device FROM sluice.devices WHERE device_id = ${deviceId(db)}`;
    for (const [table, order, idName] of TABLES) {
      const storeCols = (await store`SELECT column_name FROM information_schema.columns WHERE table_schema = 'sluice' AND table_name = ${table}`).map((c: any) => c.column_name);
      const localCols = query(db, `PRAGMA table_info(${table})`).map((c: any) => c.name as string);
      const common = localCols.filter((c) => storeCols.includes(c) && c !== "id" && (withArchive || (c !== "summary" && c !== "first_prompt")));
      if (table === "models") common.push("id");
      const select = [...common, ...(idName ? [`id AS ${idName}`] : [])].join(", ");
      const local = norm(query(db, `SELECT ${select} FROM ${table} ORDER BY ${order}`));
      const remote = norm(await store.unsafe(`SELECT ${[...common, ...(idName ? [idName] : [])].join(", ")} FROM sluice.${table} WHERE device = $1 ORDER BY ${order}`, [device]));
      expect({ table, rows: remote }).toEqual({ table, rows: local });
      if (!withArchive && table === "sessions") expect((await store`SELECT count(*)::int AS n FROM sluice.sessions WHERE device = ${device} AND (summary IS NOT NULL OR first_prompt IS NOT NULL)`)[0].n).toBe(0);
    }
  } finally {
    await store.close();
  }
}

/** Everything the store holds of its devices but push times, for comparing two stores. */
async function dump(database: string) {
  const store = pg.connect(database);
  try {
    const out: Record<string, unknown> = {};
    out.devices = await store`SELECT device_id::text, name, user_label, with_archive, through_seq::text, through_entry FROM sluice.devices ORDER BY device_id`;
    out.watermarks = await store`SELECT d.device_id::text, w.tbl, w.through_seq::text FROM sluice.watermarks w JOIN sluice.devices d USING (device) ORDER BY 1, 2`;
    for (const [table, order] of TABLES) {
      out[table] = (await store.unsafe(`SELECT d.device_id::text AS device_id, t.* FROM sluice.${table} t JOIN sluice.devices d USING (device) ORDER BY 1, ${order.split(", ").map((c) => `t.${c}`).join(", ")}`)).map(
        ({ device: _, ...rest }: any) => rest,
      );
    }
    return out;
  } finally {
    await store.close();
  }
}

async function storeCount(database: string, sql: string): Promise<number> {
  const store = pg.connect(database);
  try {
    return Number((await store.unsafe(sql))[0].n);
  } finally {
    await store.close();
  }
}

/** Appends `n` new calls (fresh message and request ids) to a Claude transcript: an incremental index. */
function appendCalls(file: string, n: number, tag: string) {
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const calls = lines.filter((o) => o.type === "assistant" && o.message?.usage).slice(-n);
  const out = calls.map((o, i) => JSON.stringify({ ...o, uuid: `${tag}-${i}`, requestId: `req_${tag}_${i}`, message: { ...o.message, id: `msg_${tag}_${i}` } }));
  appendFileSync(file, out.join("\n") + "\n");
}

const largestClaude = (root: string) =>
  [...walk(join(root, "claude", "projects"))].filter((f) => f.endsWith(".jsonl")).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;

/** Per day and model (UTC), the tokens of `report daily --json`. */
async function localDaily(db: string): Promise<Map<string, number[]>> {
  const r = await sluice(["report", "daily", "--json", "--tz", "UTC", "--db", db]);
  expect(r.code).toBe(0);
  const out = new Map<string, number[]>();
  const j = JSON.parse(r.stdout);
  const days = [...j.daily, ...(j.undated ? [{ ...j.undated, date: "undated" }] : [])];
  for (const d of days) for (const m of d.modelBreakdowns) out.set(`${d.date} ${m.modelName}`, [m.inputTokens, m.outputTokens, m.cacheCreationTokens, m.cacheReadTokens]);
  return out;
}

function addInto(into: Map<string, number[]>, from: Map<string, number[]>) {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? [0, 0, 0, 0]).map((x, i) => x + v[i]!));
}

/** The team's totals per day and model, from the store: from its usage buckets and, summed again, from its calls. */
async function teamDaily(database: string, from: "usage_buckets" | "turns"): Promise<Map<string, number[]>> {
  const store = pg.connect(database);
  try {
    const day = from === "turns" ? "CASE WHEN at = '' THEN 'undated' ELSE substr(at, 1, 10) END" : "CASE WHEN bucket = '' THEN 'undated' ELSE substr(bucket, 1, 10) END";
    const model = from === "turns" ? "coalesce(model, 'unknown')" : "model";
    const rows = await store.unsafe(`SELECT ${day} AS day, ${model} AS model, sum(input_tokens)::float8 AS i, sum(output_tokens)::float8 AS o,
      sum(cache_write_5m_tokens + cache_write_1h_tokens)::float8 AS w, sum(cache_read_tokens)::float8 AS r FROM sluice.${from} GROUP BY 1, 2`);
    return new Map(rows.filter((r: any) => r.i + r.o + r.w + r.r > 0).map((r: any) => [`${r.day} ${r.model}`, [r.i, r.o, r.w, r.r]]));
  } finally {
    await store.close();
  }
}

const sorted = (m: Map<string, number[]>) => [...m].filter(([, v]) => v.some((x) => x)).sort(([a], [b]) => a.localeCompare(b));

describe("two devices", () => {
  test("push the samples, one twice (incrementally): the team's sums per day and model are the devices' reports added up", async () => {
    const url = await pg.createDatabase("team");
    // device A: Claude Code only; device B: everything, and a capture for the flows
    const a = fresh("a.db"), b = fresh("b.db");
    const onlyClaude = fresh("claude-only");
    cpSync(join(samples, "claude"), join(onlyClaude, "claude"), { recursive: true });
    mkdirSync(join(onlyClaude, "codex"));
    await index(a, onlyClaude);
    const capture = fresh("sse_lines.jsonl");
    generateFile(capture, { lines: 3000, seed: 5 });
    await index(b, samples, capture);
    expect(one(b, "SELECT count(*) AS n FROM flows").n).toBeGreaterThan(20);

    const pa = await push(url, a, "--device", "laptop", "--user", "alice");
    const pb = await push(url, b, "--device", "server", "--user", "bob");
    expect(pa.whole_because).toBe("the first push of this device");
    expect(pb.tables.turns.rows).toBe(one(b, "SELECT count(*) AS n FROM turns").n);
    // B grows: an incremental index, then an incremental push
    appendCalls(largestClaude(samples), 12, "grow1");
    expect((await index(b)).grown).toBe(1);
    const again = await push(url, b);
    expect(again.whole_because).toBeNull();
    expect(again.tables.turns).toEqual({ how: "changes", rows: 12, deleted: 0 });
    expect(again.tables.invocations.rows).toBeLessThan(50);
    expect(again.device).toBe("server"); // the name given once is kept
    // and again: rows now change that the log has seen change before
    appendCalls(largestClaude(samples), 7, "grow2");
    await index(b);
    expect((await push(url, b)).tables.turns).toEqual({ how: "changes", rows: 7, deleted: 0 });

    const want = new Map<string, number[]>();
    addInto(want, await localDaily(a));
    addInto(want, await localDaily(b));
    expect(sorted(await teamDaily("team", "usage_buckets"))).toEqual(sorted(want));
    expect(sorted(await teamDaily("team", "turns"))).toEqual(sorted(want));
    await expectMirror(url, a);
    await expectMirror(url, b);

    const devices = await sluice(["devices", "--from", url, "--json"]);
    expect(devices.code).toBe(0);
    const listed = JSON.parse(devices.stdout).devices.map((d: any) => [d.name, d.user, d.calls]);
    expect(listed).toEqual([["laptop", "alice", one(a, "SELECT count(*) AS n FROM turns").n], ["server", "bob", one(b, "SELECT count(*) AS n FROM turns").n]]);
    const text = await sluice(["devices", "--from", url]);
    expect(text.stdout).toContain("laptop");
    await teamReports(url, a, b);
  }, 90_000);
});

async function report(args: string[]): Promise<any> {
  const r = await sluice(["report", ...args, "--json", "--tz", "UTC"]);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  const json = JSON.parse(r.stdout);
  delete json.store;
  return json;
}

/** Reports on the team store: the same JSON as each device's local report, and the whole team's sums. */
async function teamReports(url: string, a: string, b: string) {
  const [la, lb] = [await report(["daily", "--db", a]), await report(["daily", "--db", b])];
  // one device: its local report, field for field (the same code on the same sums)
  expect(await report(["daily", "--from", url, "--device", "laptop"])).toEqual(la);
  const by = await report(["daily", "--from", url, "--by", "device"]);
  expect(by.devices).toEqual({ laptop: la.daily, server: lb.daily });
  expect((await report(["weekly", "--from", url, "--by", "user"])).users.alice).toEqual((await report(["weekly", "--db", a])).weekly);
  // the whole team: each day's sums are the devices' added up
  const team = await report(["daily", "--from", url]);
  const added = new Map<string, any>();
  for (const d of [...la.daily, ...lb.daily]) {
    const t = added.get(d.date) ?? { totalTokens: 0, totalCost: 0 };
    added.set(d.date, { totalTokens: t.totalTokens + d.totalTokens, totalCost: t.totalCost + d.totalCost });
  }
  expect(team.daily.map((d: any) => [d.date, d.totalTokens])).toEqual([...added].sort(([x], [y]) => x.localeCompare(y)).map(([date, t]) => [date, t.totalTokens]));
  for (const d of team.daily) expect(Math.abs(d.totalCost - added.get(d.date).totalCost)).toBeLessThan(1e-6);
  // sessions, models and blocks read the turns: the same as local for one device
  expect(await report(["session", "--from", url, "--device", "server"])).toEqual(await report(["session", "--db", b]));
  expect(await report(["models", "--from", url, "--device", "laptop"])).toEqual(await report(["models", "--db", a]));
  expect(await report(["blocks", "--from", url, "--user", "alice"])).toEqual(await report(["blocks", "--db", a]));
  // blocks are one person's; a device that is not there is named
  for (const [args, message] of [
    [["blocks", "--from", url], "blocks are one person's 5-hour windows: pass --user (alice, bob) or --device"],
    [["daily", "--from", url, "--device", "nas"], "has no device nas; it has laptop (alice), server (bob)"],
    [["daily", "--device", "laptop"], "--device, --user and --by are for a team store: add --from postgres://..."],
  ] as const) {
    const r = await sluice(["report", ...args]);
    expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.trim().split("\n").length }).toEqual({ args, code: 2, stdout: "", lines: 1 });
    expect(r.stderr).toContain(message);
  }
  // the store's URL from the config file; SLUICE_PUSH_URL beats it
  const config = fresh("config.json");
  writeFileSync(config, JSON.stringify({ push: { url } }));
  const listed = await sluice(["devices", "--json"], { SLUICE_CONFIG: config, SLUICE_PUSH_URL: "" });
  expect(JSON.parse(listed.stdout).devices.map((d: any) => d.name)).toEqual(["laptop", "server"]);
  const env = await sluice(["devices"], { SLUICE_CONFIG: config, SLUICE_PUSH_URL: url.replace(/\/team$/, "/nosuchdb") });
  expect([env.code, env.stderr]).toEqual([2, expect.stringContaining('database "nosuchdb" does not exist')]);
}

/** The database file as it is, its WAL folded in: a state to put back in place later. */
function snapshot(db: string): Buffer {
  const d = new Database(db);
  d.run("PRAGMA wal_checkpoint(TRUNCATE)");
  d.close();
  return readFileSync(db);
}

/** Puts a state back into the same file (same inode: to a push, the same database went on or back). */
function putBack(db: string, state: Buffer) {
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  writeFileSync(db, state);
}

/** A Codex rollout rewritten: its last token count dropped and another one's usage raised. */
function rewriteCodex(root: string) {
  const file = [...walk(join(root, "codex"))].filter((f) => f.endsWith(".jsonl")).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const counts = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes('"token_count"')).map(([, i]) => i);
  lines.splice(counts[counts.length - 1]!, 1);
  writeFileSync(file, lines.join("\n").replace(/"output_tokens":(\d+)/, (_, n) => `"output_tokens":${Number(n) + 777}`) + "\n");
}

/** A push run to its end: when (ms after its start) its transaction opened, it committed and it exited. */
async function phases(url: string, db: string, env: Record<string, string>): Promise<{ open: number; commit: number; end: number }> {
  const t0 = performance.now();
  const p = Bun.spawn([...BIN, "push", url, "--db", db], { env: { ...process.env, ...ENV, ...env }, stdout: "ignore", stderr: "pipe" });
  const at: Record<string, number> = {};
  const decoder = new TextDecoder();
  for await (const chunk of p.stderr as ReadableStream<Uint8Array>) {
    const text = decoder.decode(chunk);
    for (const mark of ["push: transaction open", "push: committed"]) if (text.includes(mark)) at[mark] ??= performance.now() - t0;
  }
  expect(await p.exited).toBe(0);
  const end = performance.now() - t0;
  return { open: Math.round(at["push: transaction open"]!), commit: Math.round(at["push: committed"]!), end: Math.round(end) };
}

describe("the change log", () => {
  test("logs every change at a new seq, whatever the conflict policy of the statement that made it", async () => {
    const db = fresh("log.db");
    await index(db);
    const d = new Database(db);
    d.run("UPDATE device SET tracking = 1");
    const seqOf = (tbl: number, key: unknown) => (d.query("SELECT seq FROM push_log WHERE tbl = ? AND row_key = ?").get(tbl, key as never) as { seq: number } | null)?.seq ?? 0;
    const head = () => (d.query("SELECT coalesce(max(seq), 0) AS s FROM push_log").get() as { s: number }).s;
    const expectLogged = (tbl: number, key: unknown, change: () => void) => {
      for (let i = 0; i < 3; i++) {
        const before = head();
        change();
        expect([seqOf(tbl, key) > before, seqOf(tbl, key)]).toEqual([true, head()]);
      }
    };
    const model = (d.query("SELECT id FROM models LIMIT 1").get() as { id: string }).id;
    expectLogged(5, model, () => d.run("INSERT INTO models (id, provider, family, calls) VALUES (?, 'p', 'f', 1) ON CONFLICT (id) DO UPDATE SET calls = calls + 1", [model]));
    const turn = (d.query("SELECT id FROM turns ORDER BY id LIMIT 1").get() as { id: number }).id;
    expectLogged(2, turn, () => d.run("UPDATE turns SET output_tokens = output_tokens + 1 WHERE id = ?", [turn]));
    // the last tool use deleted, and its id given again by an INSERT OR IGNORE
    const last = d.query("SELECT * FROM invocations ORDER BY id DESC LIMIT 1").get() as Record<string, never>;
    expectLogged(3, last.id, () => {
      d.run("DELETE FROM invocations WHERE id = ?", [last.id]);
      d.run("INSERT OR IGNORE INTO invocations (session_id, kind, name, tool_use_id, file_id, byte_offset) VALUES (?, 'tool', 'Read', ?, ?, 0)", [last.session_id, last.tool_use_id, last.file_id]);
    });
    expect((d.query("SELECT max(id) AS m FROM invocations").get() as { m: number }).m).toBe(last.id);
    expectLogged(7, "fl-x", () => d.run("INSERT OR REPLACE INTO flows (flow_id, lines) VALUES ('fl-x', 1)"));
    expectLogged(6, "2026-01-01T00:00", () => d.run("INSERT OR REPLACE INTO usage_buckets VALUES ('2026-01-01T00:00', 'm', 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0)"));
    // a row whose key changes: both keys are logged
    const before = head();
    d.run("UPDATE models SET id = 'renamed' WHERE id = ?", [model]);
    expect([seqOf(5, model) > before, seqOf(5, "renamed") > before]).toEqual([true, true]);
    d.close();
  });
});

describe("exactly once", () => {
  test("kill -9 of push at 24 random moments, then one more push: the store equals a clean push", async () => {
    // a corpus made of the samples (ids made unique), large enough for the push to take a while
    const root = fresh("kill-corpus");
    buildAgentCorpus(root, 15e6, 30);
    mkdirSync(join(root, "claude", "synthetic"));
    const db = fresh("kill.db"), capture = fresh("kill-sse.jsonl");
    generateFile(capture, { lines: 2000, seed: 9 });
    await index(db, root, capture);
    await push(await pg.createDatabase("kill_scratch"), db); // the triggers are on from here
    const before = snapshot(db);
    appendCalls(largestClaude(root), 30, "kill");
    rewriteCodex(root);
    const r = await index(db, root);
    expect([r.grown, r.rewritten]).toEqual([1, 1]);
    const after = snapshot(db);
    // what a push that nothing interrupted leaves, and when its transaction opens and commits
    const SMALL = { SLUICE_PUSH_BATCH_ROWS: "50", SLUICE_LOG_LEVEL: "4" };
    putBack(db, after);
    const whole = await phases(await pg.createDatabase("kill_clean"), db, SMALL);
    const clean = await dump("kill_clean");
    await expectMirror(pg.url("kill_clean"), db);
    putBack(db, before);
    const incUrl = await pg.createDatabase("kill_inc");
    await push(incUrl, db);
    putBack(db, after);
    const inc = await phases(incUrl, db, SMALL);
    expect(await dump("kill_inc")).toEqual(clean);

    // where each kill landed, from the push's own log lines
    const landed = { before: 0, inside: 0, committing: 0, after: 0, finished: 0 };
    for (let trial = 0; trial < 24; trial++) {
      const url = await pg.createDatabase("kill");
      const incremental = trial % 2 === 1;
      // odd trials kill an incremental push (the store holds `before`), even ones a first push (schema included)
      putBack(db, incremental ? before : after);
      if (incremental) {
        await push(url, db);
        putBack(db, after);
      }
      const p = Bun.spawn([...BIN, "push", url, "--db", db], { env: { ...process.env, ...ENV, ...SMALL }, stdout: "ignore", stderr: "pipe" });
      const log = new Response(p.stderr).text();
      // a quarter anywhere in the run, the rest inside its transaction
      const t = incremental ? inc : whole;
      await Bun.sleep(trial % 4 === 0 ? Math.random() * t.end : t.open + Math.random() * (t.commit - t.open));
      p.kill(9);
      await p.exited;
      const seen = await log;
      if (p.signalCode !== "SIGKILL") landed.finished++;
      else if (seen.includes("push: committed")) landed.after++;
      else if (seen.includes("push: committing")) landed.committing++;
      else if (seen.includes("push: transaction open")) landed.inside++;
      else landed.before++;
      const last = await push(url, db);
      if (incremental) expect(last.whole_because).toBeNull();
      expect(await dump("kill")).toEqual(clean);
    }
    console.log(`kill -9 landed: ${JSON.stringify(landed)} (transaction open-commit-exit: whole ${JSON.stringify(whole)} ms, incremental ${JSON.stringify(inc)} ms)`);
    expect(landed.inside + landed.committing).toBeGreaterThanOrEqual(8);
    expect(one(db, "PRAGMA integrity_check").integrity_check).toBe("ok");
  }, 120_000);

  test("PostgreSQL stopped mid-push: one line, exit 1; restarted, the next push converges; push --follow retries on its own", async () => {
    const db = fresh("restart.db");
    await index(db);
    const url = await pg.createDatabase("restart");
    // stopped (as by a crash) once the push's transaction is open, small batches keeping it open a
    // while. The push is frozen (SIGSTOP) as soon as it says so and thawed once the server is down:
    // a push that finished before the server stopped, as a faster sluice did, proves nothing.
    const p = start(BIN, ["push", url, "--db", db], { env: { ...ENV, SLUICE_PUSH_BATCH_ROWS: "1", SLUICE_LOG_LEVEL: "4" } });
    for (const until = performance.now() + 15_000; !p.stderr().includes("push: transaction open"); await Bun.sleep(1)) {
      if (performance.now() > until) throw new Error("the push's transaction never opened");
    }
    p.proc.kill("SIGSTOP");
    pg.stop("immediate");
    p.proc.kill("SIGCONT");
    const code = await p.exited;
    pg.start();
    expect(code).toBe(1);
    const said = p.stderr().split("\n").filter((l) => l && !l.startsWith("[debug]"));
    expect(said).toHaveLength(1);
    // the server may say why it goes (57P01) before the connection drops, or just drop it
    expect(said[0]).toMatch(/^\[error\] (the connection to PostgreSQL at \S+\/restart was lost|PostgreSQL at \S+\/restart is shutting down or starting up) .*; nothing of this push was kept; run it again$/);
    expect(await storeCount("restart", "SELECT count(*) AS n FROM sluice.devices")).toBe(0);
    await push(url, db);
    await expectMirror(url, db);

    const followUrl = await pg.createDatabase("follow");
    pg.stop("fast");
    const f = start(BIN, ["push", "--follow", "--poll-ms", "100", "--db", db], { env: { ...ENV, SLUICE_PUSH_URL: followUrl } });
    await waitFor("the follower's first failed try", () => f.stderr().includes("retrying in"), 15_000);
    pg.start();
    const turns = one(db, "SELECT count(*) AS n FROM turns").n;
    await waitFor("the follower's push after the restart", async () => (await storeCount("follow", "SELECT count(*) AS n FROM sluice.turns")) === turns, 30_000);
    appendCalls(largestClaude(samples), 5, "follow");
    await index(db);
    await waitFor("the follower's push of the new calls", async () => (await storeCount("follow", "SELECT count(*) AS n FROM sluice.turns")) === turns + 5, 15_000);
    await expectMirror(followUrl, db);
    // status and stats show the follower and how far behind its store is
    const status = JSON.parse((await sluice(["status", "--db", db, "--json"])).stdout);
    expect(status.writers.map((w: any) => w.role)).toContain("push --follow");
    const target = status.pushes.find((p: any) => p.target.endsWith("/follow"));
    expect(target).toMatchObject({ behindChanges: 0 });
    expect(JSON.parse((await sluice(["stats", "--db", db, "--json"])).stdout).pushes.find((p: any) => p.target.endsWith("/follow")).following).toBe(true);
    f.proc.kill("SIGTERM");
    expect(await f.exited).toBe(0);
    expect(f.stderr()).toContain("pushed again after");
    appendCalls(largestClaude(samples), 3, "unpushed");
    await index(db);
    const after = JSON.parse((await sluice(["status", "--db", db, "--json"])).stdout);
    expect(after.writers.map((w: any) => w.role)).not.toContain("push --follow");
    expect(after.pushes.find((p: any) => p.target.endsWith("/follow")).behindChanges).toBeGreaterThanOrEqual(3);
    expect((await sluice(["status", "--db", db])).stdout).toMatch(/push {7}postgres:\/\/\S+\/follow: \d+ changes behind, last push \d+ s ago/);
  }, 90_000);

  test("a file rewritten and re-indexed: its rows are updated in the store, not doubled; two pushes at once", async () => {
    const root = fresh("rewrite-samples");
    cpSync(samples, root, { recursive: true });
    const db = fresh("rewrite.db");
    await index(db, root);
    const url = await pg.createDatabase("rewrite");
    await push(url, db);
    const file = largestClaude(root);
    const session = one(db, "SELECT session_id FROM agent_files WHERE path = ?", file).session_id;
    const calls = one(db, "SELECT count(*) AS n FROM turns WHERE session_id = ?", session).n;
    // the transcript rewritten: every call's output raised by 1000, its last 20 lines gone
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).slice(0, -20);
    writeFileSync(file, lines.join("\n").replace(/"output_tokens":(\d+)/g, (_, n) => `"output_tokens":${Number(n) + 1000}`) + "\n");
    rewriteCodex(root);
    expect((await index(db, root)).rewritten).toBe(2);
    const [p1, p2] = await Promise.all([push(url, db), push(url, db)]);
    expect([p1.whole_because, p2.whole_because]).toEqual([null, null]);
    expect(p1.tables.turns.deleted + p2.tables.turns.deleted).toBeGreaterThanOrEqual(calls - 5);
    await expectMirror(url, db);
    expect(await storeCount("rewrite", "SELECT count(*) AS n FROM sluice.turns")).toBe(one(db, "SELECT count(*) AS n FROM turns").n);
    // the same calls (their keys), their new usage
    const key = one(db, "SELECT message_id, request_id, output_tokens FROM turns WHERE session_id = ? AND message_id IS NOT NULL ORDER BY id LIMIT 1", session);
    expect(key.output_tokens).toBeGreaterThanOrEqual(1000);
    expect(await storeCount("rewrite", `SELECT output_tokens AS n FROM sluice.turns WHERE message_id = '${key.message_id}' AND request_id = '${key.request_id}'`)).toBe(key.output_tokens);
    // a clean push of the same database gives the same store
    const cleanUrl = await pg.createDatabase("rewrite_clean");
    await push(cleanUrl, db);
    const [got, want] = [await dump("rewrite"), await dump("rewrite_clean")];
    expect(got).toEqual(want);
  }, 60_000);
});

/** sluice with exactly this environment (the tests' PGPASSWORD left out unless given). */
async function runBare(args: string[], env: Record<string, string>) {
  const keep = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PG") && k !== "SLUICE_PUSH_URL")) as Record<string, string>;
  const p = Bun.spawn([...BIN, ...args], { env: { ...keep, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

const oneLine = (r: { stderr: string }) => expect(r.stderr.trim().split("\n")).toHaveLength(1);

describe("failures", () => {
  test("wrong password, missing database, newer schema, server down, a password in the URL: one line, the exit code, nothing written", async () => {
    const db = fresh("fail.db");
    await index(db);
    const url = await pg.createDatabase("fail");
    const untouched = readFileSync(db);
    const cases: Array<[string, string[], Record<string, string>, number, RegExp]> = [
      ["wrong password", ["push", url], { PGPASSWORD: "not-it" }, 2, /refused user sluice .*password authentication failed/],
      ["no password", ["push", url], {}, 2, /refused user sluice/],
      ["missing database", ["push", pg.url("no_such_db")], { PGPASSWORD: PG_PASSWORD }, 2, /database "no_such_db" does not exist/],
      ["server down", ["push", `postgres://sluice@127.0.0.1:1/x`], { PGPASSWORD: PG_PASSWORD }, 1, /cannot reach PostgreSQL at postgres:\/\/sluice@127.0.0.1:1\/x/],
      ["password in the URL", ["push", url.replace("sluice@", "sluice:hunter2@")], {}, 2, /holds a password/],
      ["no URL", ["push"], {}, 2, /no PostgreSQL URL/],
      ["devices, wrong password", ["devices", "--from", url], { PGPASSWORD: "not-it" }, 2, /refused user sluice/],
    ];
    for (const [what, args, env, code, message] of cases) {
      const r = await runBare([...args, "--db", db].filter((a) => !(args[0] === "devices" && (a === "--db" || a === db))), env);
      expect({ what, code: r.code }).toEqual({ what, code });
      expect(r.stderr).toMatch(message);
      oneLine(r);
      for (const secret of [PG_PASSWORD, "hunter2", "not-it"]) expect(r.stderr).not.toContain(secret);
    }
    expect(await storeCount("fail", "SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'sluice'")).toBe(0);
    expect(Buffer.compare(readFileSync(db), untouched)).toBe(0);
    expect(one(db, "SELECT tracking FROM device").tracking).toBe(0);

    // a store made by a newer sluice: refused before anything is written, here or there
    await push(url, db);
    const admin = pg.connect("fail");
    await admin`INSERT INTO sluice.schema_version (version, name, sluice) VALUES (99, 'from the future', '9.0.0')`;
    await admin.close();
    const before = await dump("fail");
    appendCalls(largestClaude(samples), 3, "newer");
    await index(db);
    const local = snapshot(db);
    const r = await sluice(["push", url, "--db", db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/schema version 99, made by a newer sluice .*upgrade sluice/);
    oneLine(r);
    expect(await dump("fail")).toEqual(before);
    expect(Buffer.compare(snapshot(db), local)).toBe(0);
    const devices = await sluice(["devices", "--from", url]);
    expect([devices.code, devices.stderr.includes("newer sluice")]).toEqual([2, true]);
  }, 60_000);

  test("URLs: never with a password, shown without one; libpq's socket form; SLUICE_PUSH_URL", () => {
    const env = { HOME: tmp.dir };
    expect(storeUrl("postgres://me@db.internal/usage", env).masked).toBe("postgres://me@db.internal/usage");
    expect(() => storeUrl("postgres://me:s3cr3t@db.internal/usage", env)).toThrow(/^the URL postgres:\/\/me@db.internal\/usage holds a password/);
    expect(() => storeUrl("postgres://me:s3cr3t@db.internal:x/usage", env)).toThrow(/^'postgres:\/\/me:\*\*\*@db.internal:x\/usage' is not a URL/);
    const socket = storeUrl("postgresql://me@/usage?host=/run/postgresql&sslmode=disable", env);
    expect([socket.socketDir, socket.host, socket.port, socket.database, socket.query]).toEqual(["/run/postgresql", "localhost", 5432, "usage", "sslmode=disable"]);
    expect(storeUrl(undefined, { ...env, SLUICE_PUSH_URL: "postgres://a@b:6543/c" }).masked).toBe("postgres://a@b:6543/c");
    expect(() => storeUrl("mysql://a@b/c", env)).toThrow(/is not a postgres:\/\/ URL/);
    expect(storeUrl("postgres://a@b/c", { ...env, PGPASSWORD: "pw" }).password).toBe("pw");
  });

  test("the password from ~/.pgpass (only when the file is private), the URL from SLUICE_PUSH_URL", async () => {
    const db = fresh("pgpass.db");
    await index(db);
    const url = await pg.createDatabase("pgpass");
    const home = fresh("home");
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, ".pgpass"), `# host:port:database:user:password\nelsewhere:5432:*:sluice:nope\n127.0.0.1:${pg.port}:*:sluice:${PG_PASSWORD}\n`, { mode: 0o600 });
    const ok = await runBare(["push", "--db", db], { HOME: home, SLUICE_PUSH_URL: url });
    expect(ok.stderr).not.toContain("[error]");
    expect(ok.code).toBe(0);
    await expectMirror(url, db);
    chmodSync(join(home, ".pgpass"), 0o644);
    const open = await runBare(["push", url, "--db", db], { HOME: home });
    expect(open.code).toBe(2);
    oneLine(open);
  }, 30_000);
});

describe("copies and privacy", () => {
  test("a copy of a database: refused with one line; --new-device pushes it as its own, --adopt carries the device on; a restore in place is pushed whole", async () => {
    const a = fresh("orig.db"), b = fresh("copy-b.db"), c = fresh("copy-c.db");
    await index(a);
    const url = await pg.createDatabase("copies");
    await push(url, a, "--device", "laptop");
    copyFileSync(a, b);
    const refused = await sluice(["push", url, "--db", b]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/device 'laptop' \(.*\) last pushed from .*orig\.db, and this database .*copy-b\.db.* is a copy of it; push with --adopt .* or --new-device/);
    oneLine(refused);
    const asNew = await push(url, b, "--new-device", "--device", "desktop");
    expect(asNew.device_id).not.toBe(deviceId(a));
    expect((await push(url, b, "--new-device")).device_id).toBe(asNew.device_id); // asked again: nothing to answer
    copyFileSync(a, c);
    const adopted = await push(url, c, "--adopt");
    expect(adopted.whole_because).toContain("--adopt");
    expect(adopted.device_id).toBe(deviceId(a));
    await expectMirror(url, c);
    await expectMirror(url, b);
    expect(await storeCount("copies", "SELECT count(*) AS n FROM sluice.devices")).toBe(2);
    // the original is now the copy
    expect((await sluice(["push", url, "--db", a])).code).toBe(2);
    // a backup restored over the path (another file there): the device is pushed whole again
    appendCalls(largestClaude(samples), 2, "restore");
    await index(c);
    await push(url, c);
    const older = fresh("older.db");
    copyFileSync(a, older);
    rmSync(`${c}-wal`, { force: true });
    rmSync(`${c}-shm`, { force: true });
    const { renameSync } = await import("node:fs");
    renameSync(older, c);
    const restored = await push(url, c);
    expect(restored.whole_because).toContain("replaced");
    await expectMirror(url, c);
  }, 60_000);

  test("docs/team.md lists exactly the columns a push sends", () => {
    const doc = readFileSync(join(ROOT, "docs", "team.md"), "utf8");
    const section = doc.slice(doc.indexOf("## What leaves the machine"), doc.indexOf("## The store's schema"));
    const listed = Object.fromEntries(
      [...section.matchAll(/^\| `(\w+)` \| (.*) \|$/gm)].map(([, table, cols]) => [table, [...cols!.replace(/\([^)]*\)/g, "").matchAll(/`(\w+)`/g)].map((m) => m[1])]),
    );
    const sent = Object.fromEntries(PUSH_TABLES.map((t) => [t.name, t.columns.map(([c]) => c).filter((c) => !ARCHIVE_COLUMNS.has(c))]));
    expect(listed).toEqual(sent);
  });

  test("without --with-archive no prompt or summary leaves the machine; with it they do, and switching sends the sessions again", async () => {
    const db = fresh("archive.db");
    await index(db);
    expect(one(db, "SELECT count(*) AS n FROM sessions WHERE first_prompt IS NOT NULL").n).toBeGreaterThan(5);
    const url = await pg.createDatabase("archive");
    await push(url, db);
    await expectMirror(url, db, false);
    const on = await push(url, db, "--with-archive");
    expect(on.tables.sessions.how).toBe("whole");
    expect(on.tables.turns.how).toBe("changes");
    await expectMirror(url, db, true);
    expect(await storeCount("archive", "SELECT count(*) AS n FROM sluice.sessions WHERE first_prompt IS NOT NULL")).toBe(one(db, "SELECT count(*) AS n FROM sessions WHERE first_prompt IS NOT NULL").n);
    expect((await push(url, db)).tables.sessions.how).toBe("whole");
    await expectMirror(url, db, false);
  }, 30_000);
});

describe("migration 10", () => {
  test("a database at schema 9 gets its device id and change log from its first push, and pushes on incrementally", async () => {
    const current = fresh("current.db"), old = fresh("v9.db");
    await index(current);
    const d = new Database(old, { create: true });
    d.run("PRAGMA auto_vacuum = INCREMENTAL");
    for (const m of MIGRATIONS.filter((m) => m.version <= 9)) m.up(d);
    d.run(`PRAGMA application_id = ${APPLICATION_ID}`);
    d.run("PRAGMA user_version = 9");
    d.run(`ATTACH '${current}' AS src`);
    for (const { name } of d.query("SELECT name FROM main.sqlite_schema WHERE type = 'table'").all() as Array<{ name: string }>) {
      const cols = (d.query(`PRAGMA main.table_info("${name}")`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(", ");
      d.run(`INSERT INTO main."${name}" (${cols}) SELECT ${cols} FROM src."${name}"`);
    }
    d.close();
    const url = await pg.createDatabase("v9");
    const first = await push(url, old);
    expect(first.tables.turns.rows).toBe(one(current, "SELECT count(*) AS n FROM turns").n);
    expect(one(old, "PRAGMA user_version").user_version).toBe(SCHEMA_VERSION); // 10 and every migration after it
    expect(deviceId(old)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deviceId(old)).not.toBe(deviceId(current));
    await expectMirror(url, old);
    appendCalls(largestClaude(samples), 4, "v9");
    await index(old);
    const next = await push(url, old);
    expect([next.whole_because, next.tables.turns.rows]).toEqual([null, 4]);
    await expectMirror(url, old);
  }, 30_000);
});
