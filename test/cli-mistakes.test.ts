// The mistakes people make at a command line, table-driven: each gives the right exit code, exactly
// one line on stderr, nothing on stdout, no stack trace, and leaves every database file byte for
// byte as it was. Then the things that are not mistakes but used to read as damage: a read-only
// directory (as another user), an index-only database, and tables at several terminal widths.

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, SHARED, tempDir } from "./helpers";

const tmp = tempDir("sluice-cli-");
afterAll(() => tmp.cleanup());
const BIN = RUNNERS[1]!.cmd;
const D = (name: string) => join(tmp.dir, name);

const GOOD = D("good.db"), EMPTY = D("empty.db"), TEXT = D("notes.txt"), FOREIGN = D("foreign.db"), NEWER = D("newer.db"), HOT = D("hot.db");

/**
 * A database as a writer in rollback-journal mode (a backfill, a bulk index) leaves it when killed
 * -9 mid-commit: pages already written into the file, the originals in a hot journal beside it.
 * Made by copying both files while a transaction that spilled its cache is open.
 */
function killedWriter(from: string, to: string) {
  const scratch = D("scratch-hot.sqlite");
  copyFileSync(from, scratch);
  const db = new Database(scratch);
  db.run("PRAGMA journal_mode = DELETE");
  db.run("PRAGMA cache_size = 2"); // so that the change spills into the file before the commit
  db.run("BEGIN");
  db.run("UPDATE turns SET output_tokens = output_tokens + 1");
  copyFileSync(scratch, to);
  copyFileSync(`${scratch}-journal`, `${to}-journal`);
  db.run("ROLLBACK");
  db.close();
}

beforeAll(async () => {
  mkdirSync(D("claude"));
  mkdirSync(D("codex"));
  cpSync(join(SHARED, "samples", "claude", "projects"), D("claude/projects"), { recursive: true });
  const r = await run(BIN, ["index", "--claude", D("claude"), "--codex", D("codex"), "--db", GOOD]);
  expect(r.code).toBe(0);
  writeFileSync(EMPTY, "");
  writeFileSync(TEXT, "not a database\n");
  const f = new Database(FOREIGN, { create: true });
  f.run("CREATE TABLE t (x)");
  f.close();
  copyFileSync(GOOD, NEWER);
  const n = new Database(NEWER);
  n.run("PRAGMA user_version = 999");
  n.close();
  killedWriter(GOOD, HOT);
});

/** Every database file's bytes, to show that a mistake changed none of them. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(tmp.dir)) if (/\.db(-wal|-shm|-journal)?$/.test(name)) out.set(name, Bun.hash(readFileSync(D(name))).toString());
  return out;
}

// [words, exit code, what stderr must say]
const MISTAKES: Array<[string[], number, RegExp]> = [
  [["ingset"], 2, /unknown command 'ingset'.*did you mean 'ingest'/],
  [["constructor"], 2, /unknown command 'constructor' for sluice/], // a word the commands' object has from its prototype
  [["servce", "install"], 2, /did you mean 'service'/],
  [["service", "instal"], 2, /did you mean 'install'/],
  [["report", "dailly", "--db", GOOD], 2, /did you mean 'daily'/],
  [["report", "daily", "--sinse", "2025-01-01", "--db", GOOD], 2, /unknown flag '--sinse'.*did you mean '--since'/],
  [["report", "daily", "--jsn", "--db", GOOD], 2, /did you mean '--json'/],
  [["report", "daily", "--db"], 2, /--db needs a value/],
  [["report", "daily", "--db", GOOD, "--since"], 2, /--since needs a value/],
  [["report", "daily", "extra", "--db", GOOD], 2, /'extra' is one too many/],
  [["report", "daily", "--json=yes", "--db", GOOD], 2, /takes no value/],
  [["report", "daily", "--since", "2025-13-45", "--db", GOOD], 2, /--since 2025-13-45 is not a date/],
  [["report", "daily", "--since", "20250230", "--db", GOOD], 2, /is not a date/],
  [["report", "daily", "--since", "2025-03-01", "--until", "2025-02-01", "--db", GOOD], 2, /is after --until/],
  [["report", "daily", "--tz", "Mars/Olympus", "--db", GOOD], 2, /is not a time zone/],
  [["ingest", "a.jsonl", "b.jsonl", "--db", GOOD], 2, /'b.jsonl' is one too many/],
  [["ingest", "x.jsonl", "--start-offset"], 2, /--start-offset needs a value/],
  [["ingest", "x.jsonl", "--jobs", "many", "--db", GOOD], 2, /--jobs many is not a whole number/],
  [["index", "--claude", "/nonexistent/dir", "--db", GOOD], 2, /--claude \/nonexistent\/dir: no such directory/],
  [["index", "--clude", "x"], 2, /did you mean '--claude'/],
  [["service", "install", "--print"], 2, /name the sse_lines.jsonl file/],
  [["report", "daily", "--db", D("missing.db")], 2, /no database at/],
  [["report", "daily", "--db", tmp.dir], 2, /is not a regular file/],
  ...(["report", "status", "stats", "check", "vacuum"] as const).map((c): [string[], number, RegExp] => [
    [...(c === "report" ? ["report", "daily"] : [c]), "--db", EMPTY], 1, /is an empty file: nothing was ingested or indexed/,
  ]),
  [["backup", D("b.db"), "--db", EMPTY], 1, /is an empty file/],
  [["report", "daily", "--db", TEXT], 2, /is not a SQLite database/],
  [["status", "--db", FOREIGN], 2, /is not a sluice database/],
  [["report", "daily", "--db", NEWER], 2, /made by a newer sluice/],
  [["index", "--claude", D("claude"), "--codex", D("codex"), "--db", NEWER], 2, /made by a newer sluice/],
  // a reader cannot roll back a killed writer's journal: not damage, not read-only, and a writer fixes it
  ...([["report", "daily"], ["status"], ["stats"], ["check"], ["backup", D("b.db")]] as const).map((words): [string[], number, RegExp] => [
    [...words, "--db", HOT], 1, /has a hot journal from an interrupted write .*not damaged.*'sluice vacuum --db [^']*hot\.db'/,
  ]),
];

describe("mistakes", () => {
  for (const [words, code, says] of MISTAKES) {
    test(`sluice ${words.map((w) => w.replace(tmp.dir, "…")).join(" ")}`, async () => {
      const before = snapshot();
      const r = await run(BIN, words);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
      expect(r.code).toBe(code);
      expect(snapshot()).toEqual(before);
    });
  }
});

describe("what is not damage", () => {
  test("a reader in a directory it cannot write, as another user, reads; a writer says it is permission", async () => {
    const dir = D("locked");
    mkdirSync(dir);
    const db = join(dir, "s.db");
    copyFileSync(GOOD, db);
    chmodSync(db, 0o644);
    chmodSync(dir, 0o755);
    const bin = D("sluice-bin");
    copyFileSync(BIN[0]!, bin);
    chmodSync(bin, 0o755);
    chmodSync(tmp.dir, 0o755);
    const asNobody = (...words: string[]) => run(["runuser", "-u", "nobody", "--", "env", "HOME=/tmp", "XDG_STATE_HOME=/tmp", bin], words);
    for (const words of [["report", "daily", "--json"], ["status", "--json"], ["stats", "--json"], ["check", "--json"]]) {
      const r = await asNobody(...words, "--db", db);
      expect(r.stderr).not.toMatch(/damaged/);
      expect([words[0], r.code]).toEqual([words[0], 0]);
    }
    const w = await asNobody("index", "--claude", D("claude"), "--codex", D("codex"), "--db", db);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/permission denied: this user cannot write/);
    expect(w.stderr).not.toMatch(/damaged|backup/);
  });

  test("a hot journal: the command the readers name rolls it back, and they read what was committed", async () => {
    const db = D("hot-again.sqlite");
    killedWriter(GOOD, db);
    const said = (await run(BIN, ["report", "daily", "--json", "--db", db])).stderr;
    const fix = /e\.g\. '(sluice vacuum --db [^']+)'/.exec(said)![1]!.split(" ").slice(1);
    expect((await run(BIN, fix)).code).toBe(0);
    const [after, good] = await Promise.all([run(BIN, ["report", "daily", "--json", "--db", db]), run(BIN, ["report", "daily", "--json", "--db", GOOD])]);
    expect([after.code, after.stderr]).toEqual([0, ""]);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(good.stdout));
  });

  test("a database with only a deep index is healthy: check exits 0, stats says ok", async () => {
    const c = await run(BIN, ["check", "--db", GOOD]);
    expect([c.code, c.stdout]).toEqual([0, expect.stringMatching(/^ok: /)]);
    const s = await run(BIN, ["stats", "--json", "--db", GOOD]);
    expect(JSON.parse(s.stdout).health).toBe("ok");
    expect(s.code).toBe(0);
  });

  test("a report on a capture-only database says how to build a deep index", async () => {
    const db = D("capture-only.db");
    const file = D("sse_lines.jsonl");
    writeFileSync(file, JSON.stringify({ t: "2026-01-24T10:15:02.123Z", source: "claude", sid: "s", flow_id: "f", round: 1, event: "ping", metadata: "{}", line: "data: {}" }) + "\n");
    expect((await run(BIN, ["ingest", file, "--db", db])).code).toBe(0);
    const r = await run(BIN, ["report", "daily", "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no deep index yet: run 'sluice index'/);
  });
});

describe("tables a person reads", () => {
  for (const width of [60, 80, 120, 200]) {
    test(`report daily and session at ${width} columns: no line wider, no number cut`, async () => {
      for (const kind of ["daily", "session", "models"]) {
        const r = await run(BIN, ["report", kind, "--db", GOOD, "--tz", "UTC"], { env: { COLUMNS: String(width) } });
        expect(r.code).toBe(0);
        for (const line of r.stdout.trimEnd().split("\n")) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(width);
        // every number that is shown is whole: a cut one would end in "…"
        expect(r.stdout).not.toMatch(/(^|\s)[$\d,.]+…/m);
        const total = r.stdout.split("\n").find((l) => l.startsWith("Total"))!;
        expect(total).toMatch(/\$[\d,]+\.\d\d$|<\$0\.01$/);
      }
    });
  }
});
