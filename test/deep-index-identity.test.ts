// The deep index knows files by identity and dates by what the lines say: the same file through
// two roots or a symlink counts once, symlinks are followed (loops too), overlapping roots merge, a
// renamed project directory keeps its rows, a rewrite past the first 4 KiB is noticed, and no
// timestamp, however hostile, breaks a report or loses a token.

import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, mkdirSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { APPLICATION_ID, MIGRATIONS } from "../src/db/schema";
import { one, query, RUNNERS, run, tempDir } from "./helpers";

const tmp = tempDir("sluice-identity-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const BIN = RUNNERS[1]!.cmd;
const sluice = (...args: string[]) => run(BIN, args);
const NO_CODEX = join(tmp.dir, "no-codex");
mkdirSync(NO_CODEX);

async function index(db: string, claude: string, ...more: string[]) {
  const r = await sluice("index", "--claude", claude, "--codex", NO_CODEX, "--db", db, "--json", ...more);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function report(db: string, kind: string, ...more: string[]) {
  const r = await sluice("report", kind, "--db", db, "--json", ...more);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** An assistant line with its usage: `input` input tokens and a tenth of that out. */
function call(id: string, input: number, timestamp?: unknown): string {
  const o: any = { type: "assistant", sessionId: "s", requestId: `r-${id}`, message: { id: `m-${id}`, model: "claude-sonnet-4-5-20250929", usage: { input_tokens: input, output_tokens: input / 10 } } };
  if (timestamp !== undefined) o.timestamp = timestamp;
  return JSON.stringify(o) + "\n";
}

const totals = (db: string) => one(db, "SELECT count(*) AS turns, coalesce(sum(input_tokens), 0) AS input FROM turns");

describe("files by identity", () => {
  function project(root: string, name: string, calls: number, prefix = name): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    let text = "";
    for (let i = 0; i < calls; i++) text += call(`${prefix}-${i}`, 1000, "2026-01-10T10:00:00.000Z");
    writeFileSync(join(dir, `${prefix}.jsonl`), text);
    return dir;
  }

  test("the same root twice, a root and a project inside it, a trailing slash: merged, each file once", async () => {
    const root = fresh("projects");
    project(root, "a", 3);
    project(root, "b", 2);
    const db = fresh("roots.db");
    const r = await index(db, [root, root, `${root}/`, join(root, "a")].join(","));
    expect(r.files).toBe(2);
    expect(totals(db)).toEqual({ turns: 5, input: 5000 });
    // and again, with the roots in the other order: nothing new, nothing twice
    const again = await index(db, [join(root, "a"), root].join(","));
    expect(again.unchanged).toBe(2);
    expect(totals(db)).toEqual({ turns: 5, input: 5000 });
  });

  test("symlinked project directories and files are followed, a file reached twice counts once, a loop ends", async () => {
    const root = fresh("projects");
    const elsewhere = fresh("elsewhere");
    project(elsewhere, "linked", 4);
    project(root, "own", 1);
    symlinkSync(join(elsewhere, "linked"), join(root, "linked")); // a symlinked project directory
    symlinkSync(join(elsewhere, "linked", "linked.jsonl"), join(root, "own", "alias.jsonl")); // the same file again
    symlinkSync(root, join(root, "own", "loop")); // a loop back to the root
    const db = fresh("links.db");
    const r = await index(db, `${root},${elsewhere}`);
    expect(r.files).toBe(2);
    expect(totals(db)).toEqual({ turns: 5, input: 5000 });
  });

  test("a renamed project directory keeps its rows and its sessions, subagents included; it grows on from where it was", async () => {
    const root = fresh("projects");
    const dir = project(root, "before", 2, "sess");
    mkdirSync(join(dir, "sess", "subagents"), { recursive: true });
    writeFileSync(join(dir, "sess", "subagents", "agent-x.jsonl"), call("sub-1", 500, "2026-01-10T10:00:00.000Z"));
    const db = fresh("rename.db");
    await index(db, root);
    const sessions = query(db, "SELECT id, session_key FROM sessions ORDER BY id");
    renameSync(dir, join(root, "after"));
    appendFileSync(join(root, "after", "sess", "subagents", "agent-x.jsonl"), call("sub-2", 500, "2026-01-10T10:01:00.000Z"));
    const r = await index(db, root);
    expect(r.new).toBe(0);
    expect([r.grown, r.unchanged]).toEqual([1, 1]); // the renamed file with nothing new is unchanged
    expect(query(db, "SELECT id, session_key FROM sessions ORDER BY id")).toEqual(sessions);
    expect(totals(db)).toEqual({ turns: 4, input: 3000 });
    expect(one(db, "SELECT count(*) AS n FROM agent_files WHERE path LIKE '%/after/%'").n).toBe(2);
  });

  test("a rewrite past the first 4 KiB is noticed: the file is read again from byte 0, its old calls gone", async () => {
    const root = fresh("projects");
    const dir = join(root, "p");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "s.jsonl");
    const head = call("head", 1, "2026-01-10T09:00:00.000Z") + JSON.stringify({ type: "user", pad: "x".repeat(5000) }) + "\n";
    writeFileSync(file, head + call("old-1", 100, "2026-01-10T10:00:00.000Z") + call("old-2", 100, "2026-01-10T10:00:00.000Z"));
    const db = fresh("rewrite.db");
    await index(db, root);
    // the same first bytes, different calls after them, and longer than before: "grown" by size alone
    writeFileSync(file, head + call("new-1", 300, "2026-01-10T10:00:00.000Z") + call("new-2", 300, "2026-01-10T10:00:00.000Z") + call("new-3", 300, "2026-01-10T10:00:00.000Z"));
    const r = await index(db, root);
    expect(r.rewritten).toBe(1);
    expect(query(db, "SELECT message_id FROM turns ORDER BY message_id").map((t) => t.message_id)).toEqual(["m-head", "m-new-1", "m-new-2", "m-new-3"]);
  });

  /** The index of `root` equals a fresh index of the files there now: the same turns, no old content kept beside the new. */
  async function expectFresh(db: string, root: string) {
    const again = fresh("fresh.db");
    await index(again, root);
    const ids = (d: string) => query(d, "SELECT message_id, input_tokens FROM turns ORDER BY message_id");
    expect(ids(db)).toEqual(ids(again));
    expect(totals(db)).toEqual(totals(again));
  }

  test("a rewrite past the first 4 KiB and a rename before the next run: the file's row is read again, not a second row added", async () => {
    const root = fresh("projects");
    const dir = join(root, "p");
    mkdirSync(dir, { recursive: true });
    const head = call("head", 1, "2026-01-10T09:00:00.000Z") + JSON.stringify({ type: "user", pad: "x".repeat(5000) }) + "\n";
    writeFileSync(join(dir, "s.jsonl"), head + call("old-1", 100, "2026-01-10T10:00:00.000Z"));
    const db = fresh("rewrite-rename.db");
    await index(db, root);
    writeFileSync(join(dir, "s.jsonl"), head + call("new-1", 300, "2026-01-10T10:00:00.000Z") + call("new-2", 300, "2026-01-10T10:00:00.000Z"));
    renameSync(dir, join(root, "q")); // its project directory renamed
    const r = await index(db, root);
    await expectFresh(db, root);
    expect([r.rewritten, r.new]).toEqual([1, 0]);
    expect(query(db, "SELECT path FROM agent_files").map((f) => f.path)).toEqual([join(root, "q", "s.jsonl")]);
  });

  test("a file replaced by a new inode, with a symlink to it made before the next run, is read again at its own path", async () => {
    const root = fresh("projects");
    const dir = join(root, "p");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "s.jsonl");
    writeFileSync(file, call("old-1", 100, "2026-01-10T10:00:00.000Z"));
    const db = fresh("replace-link.db");
    await index(db, root);
    // through a temporary file renamed over it, then a symlink whose name sorts before it
    writeFileSync(join(dir, "s.jsonl.tmp"), call("new-1", 300, "2026-01-10T10:00:00.000Z"));
    renameSync(join(dir, "s.jsonl.tmp"), file);
    symlinkSync(file, join(dir, "a-link.jsonl"));
    const r = await index(db, root);
    await expectFresh(db, root);
    expect([r.rewritten, r.new]).toEqual([1, 0]);
    expect(query(db, "SELECT path FROM agent_files").map((f) => f.path)).toEqual([file]);
  });

  test("a file replaced through a rename whose old inode a new file gets: each is its own row, the old content gone", async () => {
    const root = fresh("projects");
    mkdirSync(join(root, "p"), { recursive: true });
    mkdirSync(join(root, "q"), { recursive: true });
    const file = join(root, "p", "s.jsonl");
    writeFileSync(file, call("old-1", 100, "2026-01-10T10:00:00.000Z"));
    const db = fresh("replace-reuse.db");
    await index(db, root);
    const old = statSync(file).ino;
    writeFileSync(`${file}.tmp`, call("new-1", 300, "2026-01-10T10:00:00.000Z"));
    renameSync(`${file}.tmp`, file);
    // a new file in another project, on the freed inode (ext4 gives it at once; some file systems never do)
    let reused = false;
    for (let i = 0; i < 200 && !reused; i++) {
      const p = join(root, "q", `${i}.txt`);
      writeFileSync(p, call(`other-${i}`, 50, "2026-01-10T11:00:00.000Z"));
      if ((reused = statSync(p).ino === old)) renameSync(p, join(root, "q", "t.jsonl"));
    }
    if (!reused) console.log("(the file system gave no freed inode again: the reuse itself is not tested here)");
    await index(db, root);
    await expectFresh(db, root);
    expect(one(db, "SELECT count(*) AS n FROM agent_files WHERE path = ?", [file]).n).toBe(1);
  });
});

describe("dates that cannot break a report", () => {
  const HOSTILE: unknown[] = [
    "garbage", "2026-03-10", "+010000-01-01T00:00:00.000Z", "10000-01-01T00:00:00Z", "2026-02-30T10:00:00Z", "2016-12-31T23:59:60Z",
    "2026-03-08T02:30:00-05:00", "2026-11-01T01:30:00-04:00", "2026-03-29T02:30:00+01:00", "2026-06-10T23:30:00+05:45", "", 12345, null, undefined,
  ];

  function hostileFile(dir: string, leadingUndated: boolean): string {
    mkdirSync(dir, { recursive: true });
    let text = leadingUndated ? call("lead-1", 7, "garbage") + call("lead-2", 7) : "";
    HOSTILE.forEach((t, i) => (text += call(`h${i}`, 100 + i, t) + call(`ok${i}`, 10, `2026-01-${String(10 + i).padStart(2, "0")}T12:00:00.000Z`)));
    return text;
  }

  test("every report runs; the days and the undated add up to the total; an offset moves the day", async () => {
    const root = fresh("projects");
    writeFileSync(join(root, "s.jsonl"), hostileFile(root, true));
    mkdirSync(join(root, "q"));
    writeFileSync(join(root, "q", "u.jsonl"), call("undated-1", 50, "nope") + call("undated-2", 50));
    const db = fresh("dates.db");
    await index(db, root);
    const expected = 2 * 7 + HOSTILE.reduce((s: number, _t, i) => s + 100 + i + 10, 0) + 100;
    expect(totals(db).input).toBe(expected);
    for (const tz of ["UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Kiritimati"]) {
      for (const kind of ["daily", "monthly"]) {
        const r = await report(db, kind, "--tz", tz);
        const days = r[kind].reduce((s: number, d: any) => s + d.inputTokens, 0);
        expect(days + (r.undated?.inputTokens ?? 0)).toBe(r.totals.inputTokens);
        expect(r.totals.inputTokens).toBe(expected);
        expect(r.undated.inputTokens).toBe(100); // the file with no dated line at all
      }
      for (const kind of ["session", "models"]) expect((await report(db, kind, "--tz", tz)).totals.inputTokens).toBe(expected);
    }
    const text = await sluice("report", "daily", "--db", db);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^undated .*\n/m);
    // 23:30+05:45 is 17:45 UTC on June 10; 02:30-05:00 is 07:30 UTC
    const at = (id: string) => one(db, "SELECT at FROM turns WHERE message_id = ?", [`m-${id}`]).at;
    expect(at("h9")).toBe("2026-06-10T17:45:00.000Z");
    expect(at("h6")).toBe("2026-03-08T07:30:00.000Z");
    expect(at("h5")).toBe("2016-12-31T23:59:59.999Z");
    expect(at("h1")).toBe("2026-03-10T12:00:00.000Z");
    expect(at("h0")).toBe("2026-01-10T12:00:00.000Z"); // dated by the line before it
    expect(at("lead-1")).toBe("2026-01-10T12:00:00.000Z"); // no line before: the next dated one
  }, 60_000);

  test("bulk, file by file and in many increments, the buckets are the same", async () => {
    const text = hostileFile(fresh("unused"), true);
    const whole = fresh("whole"), parts = fresh("parts");
    mkdirSync(whole);
    mkdirSync(parts);
    writeFileSync(join(whole, "s.jsonl"), text);
    const dbWhole = fresh("whole.db"), dbBulk = fresh("bulk.db"), dbParts = fresh("parts.db");
    await index(dbWhole, whole);
    await index(dbBulk, whole, "--bulk");
    // line by line, an index run after each: the leading undated calls wait for the first dated line
    for (const line of text.split("\n").filter(Boolean)) {
      appendFileSync(join(parts, "s.jsonl"), line + "\n");
      await index(dbParts, parts);
    }
    const buckets = (db: string) => query(db, "SELECT * FROM usage_buckets ORDER BY bucket, model");
    expect(buckets(dbBulk)).toEqual(buckets(dbWhole));
    expect(buckets(dbParts)).toEqual(buckets(dbWhole));
    const ats = (db: string) => query(db, "SELECT message_id, at FROM turns ORDER BY message_id");
    expect(ats(dbParts)).toEqual(ats(dbWhole));
  }, 60_000);
});

describe("a database from before canonical times (schema 7)", () => {
  test("a report says which command upgrades it; the upgrade dates every turn, and the reports add up", async () => {
    const db = fresh("v7.db");
    const d = new Database(db, { create: true });
    for (const m of MIGRATIONS.filter((m) => m.version <= 7)) d.transaction(() => m.up(d))();
    d.run(`PRAGMA application_id = ${APPLICATION_ID}`);
    d.run("PRAGMA user_version = 7");
    d.run("INSERT INTO sessions (id, agent, session_key, file, last_at) VALUES (1, 'claude', 'claude:s', '/gone/s.jsonl', 'garbage')");
    d.run("INSERT INTO agent_files (id, path, agent, session_id) VALUES (1, '/gone/s.jsonl', 'claude', 1)");
    const stamps = ["2026-01-10T10:00:00.000Z", "garbage", "2026-01-10T12:00:00+02:00", "2026-02-30T10:00:00Z", "2026-01-11", "2026-01-12T10:00:00.000Z"];
    stamps.forEach((at, i) =>
      d.run(`INSERT INTO turns (session_id, seq, message_id, request_id, model, at, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens, reasoning_tokens, total_tokens, file_id, byte_offset) VALUES (1, ?, ?, 'r', 'claude-sonnet-4-5-20250929', ?, 100, 0, 0, 0, 0, 0, 100, 1, ?)`, [i, `m${i}`, at, i * 100]),
    );
    d.close();
    const refused = await sluice("report", "daily", "--db", db);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain(`run 'sluice index --db ${db}' once to upgrade it`);
    await index(db, NO_CODEX);
    expect(query(db, "SELECT at FROM turns ORDER BY seq").map((t) => t.at)).toEqual([
      "2026-01-10T10:00:00.000Z", "2026-01-10T10:00:00.000Z", "2026-01-10T10:00:00.000Z", "2026-01-10T10:00:00.000Z", "2026-01-11T12:00:00.000Z", "2026-01-12T10:00:00.000Z",
    ]);
    expect(one(db, "SELECT last_at FROM sessions").last_at).toBeNull();
    const daily = await report(db, "daily", "--tz", "UTC");
    expect(daily.daily.map((r: any) => [r.date, r.inputTokens])).toEqual([["2026-01-10", 400], ["2026-01-11", 100], ["2026-01-12", 100]]);
    expect(daily.totals.inputTokens).toBe(600);
  });
});

describe("index --follow reads what the watch names", () => {
  test("a Codex root that appears later is watched; a renamed project directory keeps its sessions; no rescan needed", async () => {
    const claude = fresh("projects"), codex = fresh("codex-later");
    const proj = join(claude, "-p");
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, "s.jsonl"), call("f-0", 100, "2026-01-10T10:00:00.000Z"));
    const db = fresh("follow.db");
    // a rescan only every 10 minutes, a poll for new roots every 200 ms: what is seen sooner came from the watches
    const p = Bun.spawn([...BIN, "index", "--follow", "--claude", claude, "--codex", codex, "--db", db, "--poll-ms", "200", "--rescan-ms", "600000"], { stdout: "ignore", stderr: "pipe" });
    const input = () => {
      try {
        return totals(db).input as number;
      } catch {
        return -1;
      }
    };
    const until = async (want: number, ms: number) => {
      const t0 = performance.now();
      while (input() !== want && performance.now() - t0 < ms) await Bun.sleep(20);
      expect(input()).toBe(want);
    };
    try {
      await until(100, 15_000);
      await Bun.sleep(500); // the hand-over
      // 'sluice status' shows the follower, between its passes too
      const status = JSON.parse((await sluice("status", "--db", db, "--json")).stdout);
      expect(status.writers.map((w: any) => [w.role, w.pid])).toEqual([["index --follow", p.pid]]);
      appendFileSync(join(proj, "s.jsonl"), call("f-1", 100, "2026-01-10T10:01:00.000Z"));
      await until(200, 3000);
      const day = join(codex, "2026", "01", "10");
      mkdirSync(day, { recursive: true });
      const usage = { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 10, reasoning_output_tokens: 0, total_tokens: 1010 };
      writeFileSync(join(day, "rollout-x.jsonl"), [
        { timestamp: "2026-01-10T10:00:00.000Z", type: "session_meta", payload: { id: "x", cwd: "/p", model: "gpt-5" } },
        { timestamp: "2026-01-10T10:00:01.000Z", type: "event_msg", payload: { type: "token_count", info: { total_token_usage: usage, last_token_usage: usage } } },
      ].map((o) => JSON.stringify(o) + "\n").join(""));
      await until(1200, 5000);
      const sessions = query(db, "SELECT id, session_key FROM sessions ORDER BY id");
      renameSync(proj, join(claude, "-renamed"));
      appendFileSync(join(claude, "-renamed", "s.jsonl"), call("f-2", 100, "2026-01-10T10:02:00.000Z"));
      await until(1300, 3000);
      expect(query(db, "SELECT id, session_key FROM sessions ORDER BY id")).toEqual(sessions);
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill("SIGKILL");
    }
  }, 40_000);
});
