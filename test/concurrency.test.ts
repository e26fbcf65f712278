// Writers side by side (issue: exactly once everywhere). Two `sluice index` runs started together
// must leave the index a single run leaves, never a line counted twice nor a constraint error; and
// `vacuum --full` beside an index run or the index follower must never lose or double a row, nor
// leave a database a reader cannot open. Driven against the compiled binary, on real files. Where
// a race is too narrow to meet by chance, this process takes one side's steps itself at a chosen
// moment (ScriptedRebuild: the rebuild's lock, copy and rename; a claim and a batch held open).

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, copyFileSync, cpSync, existsSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { generateFile } from "../bench/generate";
import { useIndexSettings, useLiveSettings } from "../src/db/settings";
import { bootId, processStartTicks } from "../src/runtime/process-identity";
import { one, query, RUNNERS, run, SHARED, start, tempDir } from "./helpers";

const tmp = tempDir("sluice-concurrency-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const BIN = RUNNERS[1]!.cmd;
const SAMPLES = join(SHARED, "samples");
const TRIALS = Number(process.env.SLUICE_RACE_TRIALS ?? 50);

/** What the index holds, compared across databases: every count that a report adds up. */
function contents(db: string) {
  return {
    turns: query(db, "SELECT message_id, request_id, model, at, input_tokens, output_tokens, cache_read_tokens, byte_offset FROM turns ORDER BY message_id, request_id, byte_offset, at"),
    invocations: query(db, "SELECT tool_use_id, name, kind, at, is_error, byte_offset FROM invocations ORDER BY tool_use_id, byte_offset, name"),
    sessions: query(db, "SELECT session_key, turns, input_tokens, output_tokens, tool_calls, user_messages FROM sessions ORDER BY session_key"),
    buckets: query(db, "SELECT * FROM usage_buckets ORDER BY bucket, model"),
    usage: query(db, "SELECT s.session_key, u.model, u.calls, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_5m_tokens, u.cache_write_1h_tokens, u.input_above, u.reasoning_tokens, u.first_at, u.last_at FROM session_usage u JOIN sessions s ON s.id = u.session_id ORDER BY 1, 2"),
  };
}

/** A tree of the Claude and Codex samples, with every file cut at half its lines; `grow` appends the rest. */
function halfTree(): { claude: string; codex: string; grow: () => void } {
  const root = fresh("tree");
  const claude = join(root, "claude"), codex = join(root, "codex");
  cpSync(join(SAMPLES, "claude", "projects"), join(claude, "projects"), { recursive: true });
  cpSync(join(SAMPLES, "codex"), codex, { recursive: true });
  const rests: Array<[string, string]> = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".jsonl")) {
        const text = readFileSync(p, "utf8");
        const lines = text.split("\n");
        const cut = lines.slice(0, Math.floor(lines.length / 2)).join("\n").length;
        const keep = cut > 0 ? cut + 1 : 0;
        writeFileSync(p, text.slice(0, keep));
        rests.push([p, text.slice(keep)]);
      }
    }
  };
  walk(root);
  return { claude, codex, grow: () => { for (const [p, rest] of rests) writeFileSync(p, readFileSync(p, "utf8") + rest); } };
}

/** Half the tree indexed into a new database `name`, then the tree grown, and a reference index of all of it. */
async function indexedThenGrown(name: string) {
  const tree = halfTree();
  const db = fresh(name);
  expect((await run(BIN, indexArgs(db, tree))).code).toBe(0);
  tree.grow();
  const reference = fresh("ref.db");
  expect((await run(BIN, indexArgs(reference, tree))).code).toBe(0);
  return { tree, db, reference };
}

const indexArgs = (db: string, t: { claude: string; codex: string }) => ["index", "--claude", t.claude, "--codex", t.codex, "--db", db, "--json"];

describe("two index runs started together", () => {
  test(`${TRIALS} times: the index equals one run's, every run exits 0`, async () => {
    const full = halfTree();
    full.grow();
    const reference = fresh("ref.db");
    expect((await run(BIN, indexArgs(reference, full))).code).toBe(0);
    const want = contents(reference);
    for (let i = 0; i < TRIALS; i++) {
      // Even trials start from an empty index (both runs see new files: a constraint error once);
      // odd ones from the first halves indexed (both see the same appends: counted twice once).
      const db = fresh("race.db");
      let tree: { claude: string; codex: string } = full;
      if (i % 2) {
        const half = halfTree();
        expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
        half.grow();
        tree = half;
      }
      const [a, b] = await Promise.all([run(BIN, indexArgs(db, tree)), run(BIN, indexArgs(db, tree))]);
      expect({ trial: i, codes: [a.code, b.code], stderr: (a.stderr + b.stderr).replace(/^\S*\s*waiting for .*\n/gm, "") }).toEqual({ trial: i, codes: [0, 0], stderr: "" });
      expect(contents(db)).toEqual(want);
    }
  }, 600_000);
});

/** Opens the database as any reader would, and says whether SQLite finds it whole. */
function integrity(db: string): string {
  return String(one(db, "PRAGMA integrity_check").integrity_check);
}

describe("vacuum --full beside the deep index's writers", () => {
  test("beside index runs started at every moment of its copy: nothing lost or doubled, the database always opens whole", async () => {
    const full = halfTree();
    full.grow();
    const reference = fresh("ref.db");
    expect((await run(BIN, indexArgs(reference, full))).code).toBe(0);
    const want = contents(reference);
    // A capture big enough that the rebuild's copy takes a while: an index run must land inside it.
    const base = fresh("capture.db"), capture = fresh("sse_lines.jsonl");
    generateFile(capture, { lines: 150_000, seed: 3 });
    expect((await run(BIN, ["ingest", capture, "--db", base])).code).toBe(0);
    const outcomes = new Set<string>();
    const trials = Math.max(8, TRIALS / 4);
    for (let i = 0; i < trials; i++) {
      const half = halfTree();
      const db = fresh("vacuum.db");
      copyFileSync(base, db);
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      half.grow();
      const v0 = performance.now();
      const vacuum = run(BIN, ["vacuum", "--full", "--db", db]);
      const delay = i === 0 ? 0 : (i * 1500) / trials;
      const index = (async () => (await Bun.sleep(delay), run(BIN, indexArgs(db, half))))();
      const [v, x] = await Promise.all([vacuum, index]);
      outcomes.add(`index at ${delay.toFixed(0)} ms of a ${(performance.now() - v0).toFixed(0)} ms race: vacuum ${v.code}, index ${x.code}`);
      // vacuum goes ahead, or refuses in one line because the index run holds the database
      const said = v.stderr.trim();
      if (v.code !== 0) expect({ code: v.code, said }).toEqual({ code: v.code, said: said.match(/.*(being written by 'sluice index'|another connection (has|began using)).*/)?.[0] ?? "(a refusal naming the index run)" });
      if (x.code !== 0) outcomes.add(`index said: ${x.stderr.trim()}`);
      expect(integrity(db)).toBe("ok");
      // an index run that said it indexed everything did: its rows are in the file at the path
      if (x.code === 0) expect({ trial: i, ...contents(db) }).toEqual({ trial: i, ...want });
      // whatever the race left undone, the next run does, exactly once
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      expect(contents(db)).toEqual(want);
      expect(integrity(db)).toBe("ok");
    }
    console.log(`vacuum beside index: ${[...outcomes].join("; ")}`);
  }, 600_000);

  test("on a small database, an index run or a follower started at every moment of it: rows kept, the follower lives on", async () => {
    const full = halfTree();
    full.grow();
    const reference = fresh("ref.db");
    expect((await run(BIN, indexArgs(reference, full))).code).toBe(0);
    const want = contents(reference);
    const same = (db: string) => JSON.stringify(contents(db)) === JSON.stringify(want);
    const outcomes = new Map<string, number>();
    const trials = Math.max(24, TRIALS / 2);
    for (let i = 0; i < trials; i++) {
      const half = halfTree();
      const db = fresh("small.db");
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      half.grow();
      const vacuum = run(BIN, ["vacuum", "--full", "--db", db]);
      await Bun.sleep((i * 37) % 150);
      let outcome: string;
      if (i % 2 === 0) {
        const x = await run(BIN, indexArgs(db, half));
        // an index run that says it indexed did so into the file at the path; else it says why in one line
        if (x.code === 0) expect({ trial: i, same: same(db) }).toEqual({ trial: i, same: true });
        else expect(x.stderr.trim()).toMatch(/^[^\n]*(vacuum|run the same command again)[^\n]*$/);
        outcome = `index ${x.code}`;
      } else {
        const follower = start(BIN, ["index", "--follow", "--claude", half.claude, "--codex", half.codex, "--db", db, "--poll-ms", "100"]);
        const running = () => one(db, "SELECT count(*) AS n FROM writers WHERE scope = 'running'").n > 0;
        try {
          await waitFor(() => (same(db) && running()) || follower.proc.exitCode !== null);
          expect({ trial: i, exited: follower.proc.exitCode, stderr: follower.proc.exitCode === null ? "" : follower.stderr() }).toEqual({ trial: i, exited: null, stderr: "" });
        } finally {
          follower.proc.kill("SIGTERM");
          expect({ trial: i, code: await follower.exited, stderr: follower.stderr() }).toMatchObject({ trial: i, code: 0 });
        }
        outcome = "follower";
      }
      const v = await vacuum;
      if (v.code !== 0) expect(v.stderr.trim()).toMatch(/^[^\n]*(being written by|another connection (has|began using)|in use by)[^\n]*$/);
      const key = `vacuum ${v.code}, ${outcome}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      expect(integrity(db)).toBe("ok");
      expect((await run(BIN, indexArgs(db, half))).code).toBe(0);
      expect(contents(db)).toEqual(want);
    }
    console.log(`vacuum on a small database: ${[...outcomes].map(([k, n]) => `${k}: ${n}`).join("; ")}`);
  }, 600_000);

  test("a connection that puts the file back in WAL mode after it left it, then closes: no WAL goes with the replaced file", async () => {
    const tree = halfTree();
    tree.grow();
    const base = fresh("rewal-base.db");
    expect((await run(BIN, indexArgs(base, tree))).code).toBe(0);
    const want = contents(base);
    let hits = 0;
    for (let i = 0; i < 12 && hits < 3; i++) {
      const db = fresh("rewal.db");
      copyFileSync(base, db);
      const vacuum = start(BIN, ["vacuum", "--full", "--db", db]);
      // A third party (a sqlite3 shell, a reader) puts the file back in WAL mode between vacuum's
      // leaving WAL and its rebuild's lock, holds it a moment, and closes. The rebuild then found
      // the file in WAL mode: its writes went to a WAL that stayed beside the path after the
      // rename, and the new file took it for its own.
      if (await backToWal(db, vacuum.exited)) hits++;
      const code = await vacuum.exited;
      const said = vacuum.stderr().trim();
      if (code !== 0) expect(said).toMatch(/^[^\n]*another connection (has|began using)[^\n]*$/);
      expect(integrity(db)).toBe("ok");
      expect(query(db, "SELECT scope FROM writers WHERE scope IN ('replaced', 'all')")).toEqual([]);
      expect(contents(db)).toEqual(want);
      expect((await run(BIN, indexArgs(db, tree))).code).toBe(0);
    }
    expect(hits).toBeGreaterThan(0);
  }, 120_000);

  test("beside index --follow: refused while it runs, and the follower keeps the index exact", async () => {
    const tree = halfTree();
    const db = fresh("follow.db");
    const follower = Bun.spawn([...BIN, "index", "--follow", "--claude", tree.claude, "--codex", tree.codex, "--db", db, "--poll-ms", "200"], { stdout: "ignore", stderr: "pipe" });
    try {
      // live: its first index handed over (during that exec no connection is open, and a rebuild
      // may take the file: the follower then goes on with the new one) and it marked itself running
      await waitFor(() => existsSync(db) && one(db, "SELECT count(*) AS n FROM agent_files WHERE indexed_at IS NOT NULL").n > 20 &&
        one(db, "SELECT count(*) AS n FROM writers WHERE scope = 'running'").n > 0);
      for (let i = 0; i < 5; i++) {
        const v = await run(BIN, ["vacuum", "--full", "--db", db]);
        expect(v.code).not.toBe(0);
        expect(v.stderr).toMatch(/another connection has|being written by 'sluice index --follow'/);
        expect(v.stderr.trim().split("\n")).toHaveLength(1);
        expect(integrity(db)).toBe("ok");
      }
      tree.grow();
      const reference = fresh("ref.db");
      expect((await run(BIN, indexArgs(reference, tree))).code).toBe(0);
      const want = contents(reference);
      await waitFor(() => JSON.stringify(contents(db)) === JSON.stringify(want));
    } finally {
      follower.kill("SIGTERM");
      expect(await follower.exited).toBe(0);
    }
    const v = await run(BIN, ["vacuum", "--full", "--db", db]);
    expect(v.code).toBe(0);
    expect(existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0).toBe(0);
    expect(integrity(db)).toBe("ok");
  }, 120_000);
});

/**
 * The steps of vacuum --full's rebuild, taken by this process so that a sluice process can be put at
 * a chosen moment of them. At the start: the claim, and WAL mode left. `hold`: the old file held
 * exclusively, as the rebuild holds it from before its copy. `replace`: the copy (VACUUM INTO, in WAL
 * mode), the old file marked replaced, the rename; then the new file written through its WAL (every
 * page rewritten, the claim released) by a connection that stays open, as another writer of the new
 * file would; then the old file let go. `finish`: that connection closes.
 */
class ScriptedRebuild {
  private old: Database | null = null;
  private next: Database | null = null;

  constructor(private readonly db: string) {
    const c = new Database(db);
    c.run("INSERT INTO writers (scope, role, pid, host, started_at) VALUES ('all', 'vacuum --full', ?, ?, ?)", [process.pid, hostname(), new Date().toISOString()]);
    c.query("PRAGMA journal_mode = DELETE").get();
    c.close();
  }

  hold() {
    this.old = new Database(this.db);
    this.old.run("PRAGMA locking_mode = EXCLUSIVE");
    this.old.run("BEGIN EXCLUSIVE");
    this.old.run("COMMIT");
  }

  /** With `newWal: false`, the new file's writer closes before the old file is let go: no WAL is left beside the path. */
  replace(newWal = true) {
    const tmp = `${this.db}.tmp-scripted`;
    this.old!.run("VACUUM INTO ?", [tmp]);
    const copy = new Database(tmp);
    copy.query("PRAGMA journal_mode = WAL").get();
    copy.close();
    this.old!.run("INSERT INTO writers (scope, role, pid, host, started_at) VALUES ('replaced', 'vacuum --full', ?, ?, ?)", [process.pid, hostname(), new Date().toISOString()]);
    renameSync(tmp, this.db);
    this.next = new Database(this.db);
    this.next.run("PRAGMA wal_autocheckpoint = 0");
    this.next.run("VACUUM");
    this.next.run("DELETE FROM writers WHERE scope = 'all'");
    if (!newWal) this.finish();
    this.old!.close();
  }

  finish() {
    this.next?.close();
    this.next = null;
  }
}

describe("a writer that opened the database just before vacuum --full replaced it", () => {
  // Such a writer used to take the old file's lock once the rebuild let it go, and SQLite then found
  // the new file's WAL by name and used it as the old file's: the writer's rows went into the new
  // file's WAL through the old file, and a checkpoint of that connection (at exit, or the follower's
  // last one) copied the WAL into the old file and emptied it. The index run had exited 0.
  test("an index run waiting for the claim: its rows are in the new file", async () => {
    const { tree, db, reference } = await indexedThenGrown("waiting-index.db");
    const rebuild = new ScriptedRebuild(db);
    const index = start(BIN, indexArgs(db, tree));
    await waitFor(() => /waiting for/.test(index.stderr()));
    rebuild.hold();
    await Bun.sleep(200);
    rebuild.replace();
    expect({ code: await index.exited, stderr: index.stderr() }).toMatchObject({ code: 0 });
    rebuild.finish();
    expect(integrity(db)).toBe("ok");
    expect(contents(db)).toEqual(contents(reference));
  }, 60_000);

  test("index --follow waiting for the claim to index everything first: it indexes the new file, and follows it", async () => {
    const { tree, db, reference } = await indexedThenGrown("waiting-follower.db");
    const want = contents(reference);
    const rebuild = new ScriptedRebuild(db);
    const follower = start(BIN, ["index", "--follow", "--claude", tree.claude, "--codex", tree.codex, "--db", db, "--poll-ms", "100"]);
    await waitFor(() => /waiting for/.test(follower.stderr()));
    rebuild.hold();
    await Bun.sleep(200);
    rebuild.replace(false);
    try {
      // It used to stop here: "was replaced by 'sluice vacuum --full' while this command had it open".
      // Now it indexes the new file, then hands over to the live image, which registers itself.
      const running = () => one(db, "SELECT count(*) AS n FROM writers WHERE scope = 'running'").n > 0;
      await waitFor(() => (JSON.stringify(contents(db)) === JSON.stringify(want) && running()) || follower.proc.exitCode !== null);
      expect(follower.proc.exitCode).toBeNull();
    } finally {
      follower.proc.kill("SIGTERM");
      expect({ code: await follower.exited, stderr: follower.stderr() }).toMatchObject({ code: 0 });
      rebuild.finish();
    }
    expect(integrity(db)).toBe("ok");
    expect(contents(db)).toEqual(want);
  }, 60_000);

  test("index --follow's live image, opening it while the rebuild holds it: its rows are in the new file", async () => {
    const { tree, db, reference } = await indexedThenGrown("starting-follower.db");
    const want = contents(reference);
    const rebuild = new ScriptedRebuild(db);
    rebuild.hold();
    // the image a follower hands over to, as it starts: its open waits for the rebuild's lock
    const follower = start(BIN, ["index", "--follow", "--handover", "--claude", tree.claude, "--codex", tree.codex, "--db", db, "--poll-ms", "100"]);
    await Bun.sleep(500);
    rebuild.replace();
    try {
      await waitFor(() => JSON.stringify(contents(db)) === JSON.stringify(want));
    } finally {
      follower.proc.kill("SIGTERM");
      expect({ code: await follower.exited, stderr: follower.stderr() }).toMatchObject({ code: 0 });
      rebuild.finish();
    }
    expect(integrity(db)).toBe("ok");
    expect(contents(db)).toEqual(want);
  }, 60_000);
});

describe("a writer waiting for the deep index's claim", () => {
  test("the switch to WAL of a database left in rollback-journal mode waits for another writer's lock of the moment", async () => {
    // A run killed before its switch to WAL leaves a new database in rollback-journal mode, and the
    // next run switches it. SQLite gives that switch up at once, without its busy timeout, if
    // another connection holds the write lock at that instant (the other of two runs started
    // together, trying for the claim): the run said "the database stayed locked ... for 5 s".
    const db = fresh("switch.db");
    const c = new Database(db);
    c.run("CREATE TABLE t (x)");
    c.close();
    const script = `const d = new (require("bun:sqlite").Database)(${JSON.stringify(db)}); d.run("BEGIN IMMEDIATE"); console.log("held"); Bun.sleepSync(400); d.run("COMMIT"); d.close();`;
    for (const use of [useIndexSettings, (d: Database) => useLiveSettings(d, 2)]) {
      const holder = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
      const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("held");
      const conn = new Database(db);
      try {
        use(conn);
        expect((conn.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
        conn.query("PRAGMA journal_mode = DELETE").get();
      } finally {
        conn.close();
        await holder.exited;
      }
    }
  }, 30_000);

  test("outwaits a holder whose batch keeps the write lock longer than the busy timeout (5 s)", async () => {
    const { tree, db, reference } = await indexedThenGrown("wait.db");
    // This process plays a slow index run: it holds the claim, and one batch's write transaction
    // for 6 s. The waiting run used to ask for the write lock to look at the claim, and gave up
    // after 5 s: "the database stayed locked by another connection for 5 s".
    const holder = new Database(db);
    holder.run("INSERT INTO writers (scope, role, pid, host, started_at) VALUES ('deep-index', 'index', ?, ?, ?)", [process.pid, hostname(), new Date().toISOString()]);
    holder.run("BEGIN IMMEDIATE");
    const waiter = start(BIN, indexArgs(db, tree));
    await Bun.sleep(6500);
    holder.run("COMMIT");
    holder.run("DELETE FROM writers WHERE pid = ?", [process.pid]);
    holder.close();
    const code = await waiter.exited;
    expect({ code, stderr: waiter.stderr().replace(/^\S*\s*waiting for .*\n/m, "") }).toEqual({ code: 0, stderr: "" });
    expect(contents(db)).toEqual(contents(reference));
  }, 60_000);
});

describe("a claim names its process by its boot and start, not its PID alone", () => {
  test("a claim whose PID another process has now (after a crash and a reboot) holds nothing; its own process's holds until it ends", async () => {
    // a live process that is not sluice: the PID a stale claim names may be any process's after a reboot
    const other = Bun.spawn(["sleep", "120"]);
    try {
      const ticks = processStartTicks(other.pid)!, boot = bootId()!;
      expect(ticks).toBeGreaterThan(0);
      const claim = (db: string, bootOf: string, startTicks: number) => {
        const c = new Database(db);
        c.run("INSERT INTO writers (scope, role, pid, host, started_at, boot_id, start_ticks) VALUES ('deep-index', 'index', ?, ?, ?, ?, ?)",
          [other.pid, hostname(), "2026-01-01T00:00:00.000Z", bootOf, startTicks]);
        c.close();
      };
      const claims = (db: string) => query(db, "SELECT pid FROM writers WHERE pid = ?", other.pid).length;
      // the same PID, another process: one started at another time in this boot, or one of an earlier boot
      for (const [bootOf, startTicks] of [[boot, ticks + 1], ["00000000-0000-4000-8000-000000000000", ticks]] as const) {
        const { tree, db, reference } = await indexedThenGrown("reused.db");
        claim(db, bootOf, startTicks);
        const r = await run(BIN, indexArgs(db, tree));
        expect({ code: r.code, waited: r.stderr.includes("waiting for") }).toEqual({ code: 0, waited: false });
        expect(claims(db)).toBe(0); // taken over, and removed on the way
        expect(contents(db)).toEqual(contents(reference));
      }
      // the process the claim names, in this boot: it holds until it ends
      const { tree, db, reference } = await indexedThenGrown("held.db");
      claim(db, boot, ticks);
      const waiter = start(BIN, indexArgs(db, tree));
      await waitFor(() => waiter.stderr().includes(`waiting for 'sluice index' (PID ${other.pid}`));
      other.kill();
      await other.exited;
      expect(await waiter.exited).toBe(0);
      expect(claims(db)).toBe(0);
      expect(contents(db)).toEqual(contents(reference));
    } finally {
      other.kill();
    }
  }, 60_000);
});

/**
 * Waits until `db`'s header says rollback-journal mode (vacuum --full left WAL), then switches it
 * back to WAL from a connection of this process, holds that a moment, and closes it. True when the
 * switch came before the rebuild took its lock (else the switch waited for the rebuild, or failed).
 */
async function backToWal(db: string, done: Promise<number>): Promise<boolean> {
  let finished = false;
  done.then(() => (finished = true));
  const head = Buffer.alloc(20);
  for (;;) {
    if (finished) return false;
    const fd = openSync(db, "r");
    readSync(fd, head, 0, 20, 0);
    closeSync(fd);
    if (head[18] === 1) break;
    await Bun.sleep(1);
  }
  const c = new Database(db);
  try {
    c.run("PRAGMA busy_timeout = 0");
    const mode = (c.query("PRAGMA journal_mode = WAL").get() as { journal_mode: string }).journal_mode;
    if (mode !== "wal") return false;
    c.query("SELECT count(*) FROM turns").get();
    await Bun.sleep(300);
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

async function waitFor(ok: () => boolean, ms = 30_000) {
  const deadline = performance.now() + ms;
  for (;;) {
    let done = false;
    try {
      done = ok();
    } catch {}
    if (done) return;
    if (performance.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(100);
  }
}
