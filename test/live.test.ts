// The live tail as a real process: the hand-over exec, appends, partial lines, rotations,
// truncation, signals, status, rival writers and stdin.

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, closeSync, copyFileSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile } from "../bench/generate";
import { checkExactlyOnce, expectedLines, one, query, RUNNERS, run, start, tempDir, waitFor } from "./helpers";

const tmp = tempDir("sluice-live-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const lines = (count: number, seed: number) => Buffer.concat([...generate({ lines: count, seed, hostile: 0.05 })]);
const committed = (db: string, sourceId: number) => one(db, "SELECT committed_offset AS c FROM sources WHERE id = ?", sourceId)?.c ?? -1;
const FAST = ["--poll-ms", "100"];

test("a large backfill runs in the bulk image (the allocator's purging off), the live tail after it with the caller's environment; a small one stays", async () => {
  const BULK_LINE = "a large backfill: it starts in a new image of this process";
  const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  const file = fresh("large.jsonl"), db = fresh("large.db");
  generateFile(file, { lines: 110_000, seed: 7, hostile: 0.05 }); // past the 64 MB of a bulk backfill
  expect(statSync(file).size).toBeGreaterThan(64 << 20);
  const s = start(RUNNERS[1]!.cmd, ["ingest", file, "--follow", "--db", db, ...FAST], { env: { SLUICE_LOG_LEVEL: "4" } });
  try {
    let bulkEnv = false;
    const deadline = performance.now() + 60_000;
    const mode = () => {
      try {
        return one(db, "SELECT mode FROM ingester")?.mode;
      } catch {
        return undefined; // not made yet
      }
    };
    while (mode() !== "live" && s.proc.exitCode === null && performance.now() < deadline) {
      try {
        if (!readFileSync(`/proc/${s.proc.pid}/cmdline`, "utf8").includes("--handover") && environ(s.proc.pid).includes("MIMALLOC_PURGE_DELAY=-1")) bulkEnv = true;
      } catch {}
      await Bun.sleep(5);
    }
    expect(one(db, "SELECT pid FROM ingester").pid).toBe(s.proc.pid);
    expect(bulkEnv).toBe(true);
    const live = environ(s.proc.pid);
    expect(live.filter((v) => v.startsWith("MIMALLOC_PURGE_DELAY=") || v.startsWith("SLUICE_BULK_IMAGE="))).toEqual([]);
    expect(live).toContain("BUN_JSC_useJIT=0");
    expect(s.stderr().split(BULK_LINE).length - 1).toBe(1);
    checkExactlyOnce(db, readFileSync(file));
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  } finally {
    s.proc.kill("SIGKILL");
  }
  // appended less than 64 MB: no new image
  appendFileSync(file, lines(1000, 8));
  const again = await run(RUNNERS[1]!.cmd, ["ingest", file, "--db", db], { env: { SLUICE_LOG_LEVEL: "4" } });
  expect(again.code).toBe(0);
  expect(again.stderr).not.toContain(BULK_LINE);
  checkExactlyOnce(db, readFileSync(file));
}, 120_000);

for (const runner of RUNNERS) {
  test(`${runner.name}: backfill, hand-over with the same PID, appends within a second, a partial line waits`, async () => {
    const file = fresh("capture.jsonl"), db = fresh("live.db");
    generateFile(file, { lines: 5000, seed: 1, hostile: 0.05, invalid: 0.01 });
    const s = start(runner.cmd, ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      const pid = one(db, "SELECT pid FROM ingester").pid;
      expect(pid).toBe(s.proc.pid);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("--handover");
      expect(s.stderr()).toContain("handing over");

      appendFileSync(file, lines(1000, 2));
      const t0 = performance.now();
      await waitFor("appended lines committed", () => committed(db, 1) === statSync(file).size, 5000);
      expect(performance.now() - t0).toBeLessThan(3000);
      checkExactlyOnce(db, readFileSync(file));

      // a partial line is never ingested before its newline
      const partial = '{"t":"2026-01-24T10:15:02.123Z","sid":"partial-line","line":"data: {}"';
      appendFileSync(file, partial);
      await Bun.sleep(600);
      expect(committed(db, 1)).toBe(statSync(file).size - partial.length);
      expect(one(db, "SELECT count(*) AS c FROM sse_rows WHERE sid = 'partial-line'").c).toBe(0);
      appendFileSync(file, "}\n");
      await waitFor("the completed line", () => one(db, "SELECT count(*) AS c FROM sse_rows WHERE sid = 'partial-line'").c === 1, 5000);

      const stopAt = performance.now();
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(performance.now() - stopAt).toBeLessThan(2000);
      checkExactlyOnce(db, readFileSync(file));
      const d = new Database(db);
      expect((d.query("PRAGMA journal_mode").get() as any).journal_mode).toBe("wal");
      expect((d.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
      expect((d.query("SELECT mode FROM ingester").get() as any).mode).toBe("stopped");
      d.close();
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);
}

describe("dist/sluice follow", () => {
  test("the live image gives back the executable's start-up pages, and they stay given back, with another sluice mapping the same executable; its checkpoints run in a thread that stops at exit", async () => {
    const file = fresh("capture.jsonl"), db = fresh("live.db");
    generateFile(file, { lines: 2000, seed: 3 });
    // a second service on the same binary: pages mapped by two processes are beyond MADV_PAGEOUT
    const otherFile = fresh("other.jsonl"), otherDb = fresh("other.db");
    writeFileSync(otherFile, "");
    const other = start(["dist/sluice"], ["ingest", otherFile, "--follow", "--db", otherDb, ...FAST]);
    await waitFor("the other tail", () => one(otherDb, "SELECT mode FROM ingester")?.mode === "live");
    const s = start(["dist/sluice"], ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("the release", () => /file-backed RSS [\d.]+ -> [\d.]+ MB/.test(s.stderr()));
      const [, before, after] = /file-backed RSS ([\d.]+) -> ([\d.]+) MB/.exec(s.stderr())!.map(Number);
      expect({ before, after, halved: after! < before! / 2 }).toEqual({ before, after, halved: true });
      // the tail's own work faults back in only the pages it runs, not the start-up's
      for (let i = 0; i < 10; i++) {
        appendFileSync(file, lines(500, 10 + i));
        await Bun.sleep(200);
      }
      await waitFor("appended lines committed", () => committed(db, 1) === statSync(file).size, 10_000);
      const fileRssMb = Number(/RssFile:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.proc.pid}/status`, "utf8"))![1]) / 1024;
      expect({ before, afterWork: fileRssMb, underFourFifths: fileRssMb < before! * 0.8 }).toEqual({ before, afterWork: fileRssMb, underFourFifths: true });
      // the same native extension runs its checkpoints, and its thread stops before the exit
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(s.stderr()).toMatch(/background checkpoints: \d+ \(longest \d+ ms/);
    } finally {
      s.proc.kill("SIGKILL");
      other.proc.kill("SIGKILL");
    }
  }, 60_000);

  const cmd = RUNNERS[1]!.cmd;

  test("rename rotation, copytruncate, delete and recreate: nothing lost, every change recorded", async () => {
    const file = fresh("rot.jsonl"), db = fresh("rot.db");
    writeFileSync(file, lines(500, 10));
    const s = start(cmd, ["ingest", file, "--follow", "--db", db, "--rotate-wait-ms", "1500", ...FAST]);
    try {
      await waitFor("live", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      // rename rotation: a new file at the path, and a late write to the old one
      appendFileSync(file, lines(200, 11));
      renameSync(file, `${file}.1`);
      writeFileSync(file, lines(300, 13));
      await waitFor("the new file", () => committed(db, 2) === statSync(file).size);
      appendFileSync(`${file}.1`, lines(100, 12)); // a writer that still held the old file open
      await waitFor("the late write to the rotated file", () => committed(db, 1) === statSync(`${file}.1`).size);
      checkExactlyOnce(db, readFileSync(`${file}.1`), 1);
      checkExactlyOnce(db, readFileSync(file), 2);

      // copytruncate: copy away, truncate in place, go on writing
      copyFileSync(file, `${file}.2`);
      truncateSync(file, 0);
      appendFileSync(file, lines(50, 14));
      await waitFor("the truncated file read again", () => committed(db, 3) === statSync(file).size);
      checkExactlyOnce(db, readFileSync(file), 3);

      // delete, then recreate later
      rmSync(file);
      await Bun.sleep(400);
      writeFileSync(file, lines(70, 15));
      await waitFor("the recreated file", () => committed(db, 4) === statSync(file).size);
      checkExactlyOnce(db, readFileSync(file), 4);

      const events = query(db, "SELECT source_id, kind FROM source_events").map((e) => `${e.source_id}:${e.kind}`).sort();
      // between the rename and the new file the path may be empty for a moment: either reading is true
      expect(["1:rotated", "1:missing"]).toContain(events[0]!);
      expect(events.slice(1)).toEqual(["2:follows", "2:truncated", "3:follows", "3:missing", "4:follows"]);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("files that left the path while sluice was down are read to their end after a restart: the one it was following, and one it had drained", async () => {
    const file = fresh("down.jsonl"), db = fresh("down.db");
    const args = ["ingest", file, "--follow", "--db", db, "--rotate-wait-ms", "200", ...FAST];
    writeFileSync(file, lines(200, 31));
    let s = start(cmd, args);
    try {
      await waitFor("live", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      await waitFor("the first file", () => committed(db, 1) === statSync(file).size);
      s.proc.kill("SIGKILL");
      await s.exited;
      // down: the followed file is rotated and written on, and a new one starts at the path
      renameSync(file, `${file}.1`);
      appendFileSync(`${file}.1`, lines(300, 32));
      writeFileSync(file, lines(100, 33));
      s = start(cmd, args);
      await waitFor("the rotated file's late lines", () => committed(db, 1) === statSync(`${file}.1`).size);
      await waitFor("the new file", () => committed(db, 2) === statSync(file).size);
      checkExactlyOnce(db, readFileSync(`${file}.1`), 1);
      checkExactlyOnce(db, readFileSync(file), 2);

      // a rotation sluice sees and drains to its end; then, while it is down, the old file grows
      renameSync(file, `${file}.2`);
      writeFileSync(file, lines(50, 34));
      await waitFor("the drain of the rotated file", () => /source 2 \((rotated|missing)\) read to its end/.test(s.stderr()));
      await waitFor("the next file", () => committed(db, 3) === statSync(file).size);
      s.proc.kill("SIGKILL");
      await s.exited;
      appendFileSync(`${file}.2`, lines(120, 35));
      s = start(cmd, args);
      await waitFor("the late lines of the drained file", () => committed(db, 2) === statSync(`${file}.2`).size);
      checkExactlyOnce(db, readFileSync(`${file}.2`), 2);
      checkExactlyOnce(db, readFileSync(file), 3);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  /** A directory with cap.jsonl ingested into `dbName` beside it (a left source's candidates are the directory's files). */
  async function capturedIn(name: string, dbName: string, seed: number) {
    const dir = fresh(name);
    mkdirSync(dir);
    const file = join(dir, "cap.jsonl"), db = join(dir, dbName);
    writeFileSync(file, lines(10, seed));
    expect((await run(cmd, ["ingest", file, "--db", db])).code).toBe(0);
    return { dir, file, db };
  }

  test("a left source that proves nothing (empty when followed) is found again by inode only in a file born before it", async () => {
    // A deleted file's inode goes to the next file made: a copytruncate's copy, named as rotation
    // names it, must not be read as an empty capture file that was deleted before it was made.
    const { dir, file, db } = await capturedIn("born", "s.db", 51);
    const later = join(dir, "cap.jsonl.1"), earlier = join(dir, "cap.jsonl.2");
    writeFileSync(later, lines(7, 52));
    writeFileSync(earlier, lines(9, 53));
    const d = new Database(db);
    const insert = d.query("INSERT INTO sources (path, kind, dev, ino, fingerprint, fingerprint_len, committed_offset, state, created_at) VALUES (?, 'file', ?, ?, NULL, 0, 0, 'retired', ?)");
    insert.run(file, statSync(later).dev, statSync(later).ino, "2020-01-01T00:00:00.000Z"); // the file was made after this source
    insert.run(file, statSync(earlier).dev, statSync(earlier).ino, new Date(Date.now() + 60_000).toISOString()); // before it
    d.close();
    const s = start(cmd, ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("the earlier file drained", () => s.stderr().includes("cap.jsonl.2") && /read to its end/.test(s.stderr()));
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(s.stderr()).not.toContain("cap.jsonl.1");
      const raws = new Set(query(db, "SELECT raw FROM sse_raw").map((r) => r.raw));
      expect(readFileSync(earlier, "utf8").trim().split("\n").every((l) => raws.has(l))).toBe(true);
      expect(readFileSync(later, "utf8").trim().split("\n").some((l) => raws.has(l))).toBe(false);
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("a left source whose inode the database's own -wal, -shm or file took over is never opened as a capture file", async () => {
    // SQLite makes its -wal and -shm again after a clean close, and they can take the inode of a
    // deleted capture file. Opening and closing one would drop the tail's POSIX locks on it: on
    // the -shm, the next reader truncates it under the tail's mapping (SIGBUS).
    const { file, db } = await capturedIn("own", "cap.db", 41);
    const holder = new Database(db); // keeps the -wal and -shm (and their inodes) while the tail starts
    holder.run("PRAGMA journal_mode = wal");
    holder.query("SELECT count(*) FROM sources").get();
    const insert = holder.query("INSERT INTO sources (path, kind, dev, ino, fingerprint, fingerprint_len, committed_offset, state, created_at) VALUES (?, 'file', ?, ?, NULL, 0, 0, 'retired', '2026-01-01T00:00:00Z')");
    for (const f of [db, `${db}-wal`, `${db}-shm`]) insert.run(file, statSync(f).dev, statSync(f).ino);
    const before = one(db, "SELECT count(*) AS n FROM sources").n;
    const s = start(cmd, ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("live", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      appendFileSync(file, lines(5, 42));
      await waitFor("the appended lines", () => committed(db, 1) === statSync(file).size);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(s.stderr()).not.toContain("cap.db");
      expect(one(db, "SELECT count(*) AS n FROM sources").n).toBe(before);
      checkExactlyOnce(db, readFileSync(file));
    } finally {
      s.proc.kill("SIGKILL");
      holder.close();
    }
  }, 60_000);

  /** A file followed while still empty, by a sluice then killed: its source's fingerprint is of no bytes. */
  async function followedEmptyThenKilled(name: string) {
    const file = fresh(`${name}.jsonl`), db = fresh(`${name}.db`);
    const args = ["ingest", file, "--follow", "--db", db, "--rotate-wait-ms", "200", ...FAST];
    writeFileSync(file, "");
    const s = start(cmd, args);
    try {
      await waitFor("live", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
    } finally {
      s.proc.kill("SIGKILL");
      await s.exited;
    }
    return { file, db, args };
  }

  test("a file followed while still empty, then written and rotated while sluice was down, is not taken for the new file", async () => {
    const { file, db, args } = await followedEmptyThenKilled("empty");
    let s: ReturnType<typeof start> | null = null;
    try {
      // its fingerprint is of no bytes: any file would match it, so only the inode can tell
      appendFileSync(file, lines(23, 41));
      renameSync(file, `${file}.1`);
      writeFileSync(file, lines(60, 42));
      s = start(cmd, args);
      await waitFor("the new file", () => one(db, "SELECT committed_offset AS c FROM sources WHERE ino = ?", statSync(file).ino)?.c === statSync(file).size);
      await waitFor("the rotated file", () => committed(db, 1) === statSync(`${file}.1`).size);
      checkExactlyOnce(db, readFileSync(`${file}.1`), 1);
      checkExactlyOnce(db, readFileSync(file), 2);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    } finally {
      s?.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("after a restart, a file in the directory with a source's inode but not its name (the inode reused by another file) is not read as a capture", async () => {
    const { file, db, args } = await followedEmptyThenKilled("named");
    let s: ReturnType<typeof start> | null = null;
    try {
      // Its fingerprint matches any file: only the name can tell that the file now holding its
      // inode is not a rotation of it (rotation keeps the name: .1, -20261202).
      const other = join(tmp.dir, `unrelated-${n}.log`);
      renameSync(file, other);
      appendFileSync(other, lines(40, 51));
      writeFileSync(file, lines(30, 52));
      s = start(cmd, args);
      await waitFor("the new file", () => one(db, "SELECT committed_offset AS c FROM sources WHERE ino = ?", statSync(file).ino)?.c === statSync(file).size);
      await Bun.sleep(800); // past --rotate-wait-ms and a few polls
      expect(one(db, "SELECT count(*) AS c FROM sse_lines WHERE file_id = 1").c).toBe(0);
      expect(s.stderr()).not.toContain("left the path while sluice was not running");
      checkExactlyOnce(db, readFileSync(file), 2);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    } finally {
      s?.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("a file deleted during the backfill is read to its end through the descriptor the hand-over passes on", async () => {
    const file = fresh("deleted.jsonl"), db = fresh("deleted.db");
    generateFile(file, { lines: 300_000, seed: 21 });
    const writer = openSync(file, "a+"); // the capture proxy, which goes on writing to the file it has open
    const s = start(cmd, ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("the backfill", () => one(db, "SELECT mode FROM ingester")?.mode === "backfill", 10_000);
      rmSync(file);
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live", 60_000);
      expect(readFileSync(`/proc/${s.proc.pid}/cmdline`, "utf8").split("\0")).toContain("--input-fd");
      writeSync(writer, lines(500, 22));
      const size = fstatSync(writer).size;
      await waitFor("the late lines of the deleted file", () => committed(db, 1) === size, 10_000);
      const bytes = Buffer.alloc(size);
      readSync(writer, bytes, 0, size, 0);
      checkExactlyOnce(db, bytes, 1);
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    } finally {
      s.proc.kill("SIGKILL");
      closeSync(writer);
    }
  }, 120_000);

  test("status while it runs; a rival writer is refused and touches nothing; SIGHUP reopens", async () => {
    const file = fresh("st.jsonl"), db = fresh("st.db");
    writeFileSync(file, lines(300, 20));
    const s = start(cmd, ["ingest", file, "--follow", "--db", db, ...FAST]);
    try {
      await waitFor("live", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      await waitFor("a heartbeat with RSS", () => (one(db, "SELECT rss_bytes FROM ingester")?.rss_bytes ?? 0) > 0);
      const st = await run(cmd, ["status", "--db", db, "--json"]);
      expect(st.code).toBe(0);
      const status = JSON.parse(st.stdout);
      expect(status.mode).toBe("live");
      expect(status.ingester.pid).toBe(s.proc.pid);
      expect(status.ingester.rssBytes).toBeGreaterThan(1 << 20);
      expect(status.sources[0].committedOffset).toBe(statSync(file).size);
      expect(status.sources[0].behindBytes).toBe(0);
      expect(status.rows).toBe(expectedLines(readFileSync(file)).filter((l) => l.fields).length);
      const text = await run(cmd, ["status", "--db", db]);
      expect(text.stdout).toContain(`PID ${s.proc.pid}`);

      const rival = await run(cmd, ["ingest", file, "--db", db]);
      expect(rival.code).toBe(2);
      expect(rival.stderr).toContain(`PID ${s.proc.pid}`);

      s.proc.kill("SIGHUP");
      await waitFor("the reopen", () => s.stderr().includes("SIGHUP: reopening"));
      appendFileSync(file, lines(40, 21));
      await waitFor("lines after the reopen", () => committed(db, 1) === statSync(file).size);
      checkExactlyOnce(db, readFileSync(file), 1);
      s.proc.kill("SIGINT");
      expect(await s.exited).toBe(0);
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);

  test("a stale ingester row from a dead process is taken over", async () => {
    const file = fresh("stale.jsonl"), db = fresh("stale.db");
    writeFileSync(file, lines(100, 30));
    expect((await run(cmd, ["ingest", file, "--db", db])).code).toBe(0);
    const d = new Database(db);
    d.run("UPDATE ingester SET pid = 999999, mode = 'live'");
    d.close();
    appendFileSync(file, lines(10, 31));
    const r = await run(cmd, ["ingest", file, "--db", db, "--json"]);
    expect(r.code).toBe(0);
    checkExactlyOnce(db, readFileSync(file));
  }, 30_000);

  test("stdin --follow: backfill, live in place after --idle-ms, until stdin closes", async () => {
    const db = fresh("stdin.db");
    const s = start(cmd, ["ingest", "-", "--follow", "--db", db, "--idle-ms", "500"], { stdin: "pipe" });
    const sent: Buffer[] = [];
    const send = (b: Buffer) => {
      sent.push(b);
      (s.proc.stdin as any).write(b);
      (s.proc.stdin as any).flush();
    };
    try {
      send(lines(3000, 40));
      await waitFor("the idle switch to live", () => one(db, "SELECT mode FROM ingester")?.mode === "live", 15_000);
      expect(query(db, "SELECT name FROM sqlite_schema WHERE name LIKE 'idx_sse_%'")).toHaveLength(7);
      send(lines(500, 41));
      const all = Buffer.concat(sent);
      await waitFor("live lines", () => committed(db, 1) === all.length, 5000);
      (s.proc.stdin as any).end();
      expect(await s.exited).toBe(0);
      checkExactlyOnce(db, all, 1);
      expect(one(db, "SELECT journal_mode AS j FROM pragma_journal_mode").j).toBe("wal");
    } finally {
      s.proc.kill("SIGKILL");
    }
  }, 60_000);
});
