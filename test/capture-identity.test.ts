// How the capture knows its files again across a stop: a file rotated while sluice was down, under
// any name or left behind by a re-pointed symlink, is read to its end; a file rewritten in place
// with its first 4 KiB unchanged, while sluice was down or while it followed it, is read again
// from byte 0 as a new source and recorded. The real binary, real files, SQLite; no mocks.

import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tailFingerprintOf } from "../src/input/file-identity";
import { LineReader } from "../src/input/line-reader";
import { checkExactlyOnce, one, query, RUNNERS, run, start, tempDir, waitFor, type Running } from "./helpers";

const cmd = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-identity-");
afterAll(() => tmp.cleanup());
let n = 0;
const freshDir = (name: string) => {
  const dir = join(tmp.dir, `${++n}-${name}`);
  mkdirSync(dir);
  return dir;
};

/**
 * `count` lines whose sid (`<tag>-<i>`) is unique; their lengths vary, so line starts differ
 * between tags. `wide` pads each with that many more bytes.
 */
function lines(tag: string, from: number, count: number, wide = 0): string {
  let out = "";
  for (let i = from; i < from + count; i++) {
    const pad = "x".repeat(wide + ((i * 7 + tag.length * 31) % 90));
    out += JSON.stringify({ t: "2026-12-01T10:00:00.000Z", source: "claude", sid: `${tag}-${i}`, event: "ping", line: `data: ${pad}` }) + "\n";
  }
  return out;
}
const sids = (tag: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${tag}-${from + i}`);

const rows = (db: string) => one(db, "SELECT count(*) AS c FROM sse_rows")?.c ?? 0;
const committed = (db: string, id: number) => one(db, "SELECT committed_offset AS c FROM sources WHERE id = ?", id)?.c ?? -1;

/** Starts the live tail and waits until this process holds the database in live mode. */
async function follow(file: string, db: string): Promise<Running> {
  const s = start(cmd, ["ingest", file, "--follow", "--db", db, "--poll-ms", "50", "--rotate-wait-ms", "200"]);
  await waitFor("the live tail", () => {
    const r = one(db, "SELECT pid, mode FROM ingester");
    return r?.pid === s.proc.pid && r.mode === "live";
  });
  return s;
}

async function kill9(s: Running) {
  s.proc.kill("SIGKILL");
  await s.exited;
}

/** Every row's sid is one of `want`, each exactly once, and nothing was rejected. */
function expectEachOnce(db: string, want: string[]) {
  const got = query(db, "SELECT sid FROM sse_rows").map((r) => r.sid as string);
  expect(new Set(got).size).toBe(got.length);
  expect(got.length).toBe(want.length);
  expect(got.sort()).toEqual([...want].sort());
  expect(one(db, "SELECT count(*) AS c FROM rejects").c).toBe(0);
}

/**
 * 1,000 lines followed and committed, sluice killed; then, while it is down, 1,000 more lines in
 * the file and `moveAway` takes it from the path and puts a new file of 100 lines there; sluice
 * restarted. Every line must be in the table exactly once.
 */
async function downWhileMoved(dir: string, oldFile: string, file: string, moveAway: () => void) {
  const db = join(dir, "s.db");
  writeFileSync(oldFile, lines("a", 0, 1000));
  let s = await follow(file, db);
  try {
    await waitFor("the first 1,000 lines", () => rows(db) === 1000);
    await kill9(s);
    appendFileSync(oldFile, lines("a", 1000, 1000));
    moveAway();
    s = await follow(file, db);
    await waitFor("all 2,100 lines", () => rows(db) === 2100, 5000);
    await Bun.sleep(300); // and nothing more (a line read twice would come now)
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expectEachOnce(db, [...sids("a", 0, 2000), ...sids("b", 0, 100)]);
    expect(s.stderr()).not.toContain("truncated");
    expect(query(db, "SELECT kind FROM source_events WHERE source_id = 1").map((e) => e.kind)).toEqual(["rotated"]);
  } finally {
    s.proc.kill("SIGKILL");
  }
}

// logrotate's dateext with `extension .jsonl`, dateext without it, a numbered rotation, a name
// that has nothing of the capture's.
for (const rotated of ["sse_lines-20261201.jsonl", "sse_lines.jsonl-20261201", "sse_lines.jsonl.1", "other-name"]) {
  test(`rotated to ${rotated} while sluice was down: the old file is read to its end, every line once`, async () => {
    const dir = freshDir("rotated");
    const file = join(dir, "sse_lines.jsonl");
    await downWhileMoved(dir, file, file, () => {
      renameSync(file, join(dir, rotated));
      writeFileSync(file, lines("b", 0, 100));
    });
    expect(committed(join(dir, "s.db"), 1)).toBe(statSync(join(dir, rotated)).size);
  }, 30_000);
}

// The capture path is a symlink to the day's file; it is re-pointed to the next day's while
// sluice is down. The old target is beside the link, or in a directory of its own.
for (const layout of ["beside the link", "in another directory"] as const) {
  test(`a symlink re-pointed while sluice was down, the old target ${layout}: it is read to its end, every line once`, async () => {
    const dir = freshDir("symlink");
    const file = join(dir, "sse_lines.jsonl");
    const [oldDir, newDir] = layout === "beside the link" ? [dir, dir] : [join(dir, "2026-11"), join(dir, "2026-12")];
    mkdirSync(oldDir, { recursive: true });
    mkdirSync(newDir, { recursive: true });
    const oldTarget = join(oldDir, "capture-1.jsonl"), newTarget = join(newDir, "capture-2.jsonl");
    writeFileSync(oldTarget, "");
    symlinkSync(oldTarget, file);
    await downWhileMoved(dir, oldTarget, file, () => {
      writeFileSync(newTarget, lines("b", 0, 100));
      symlinkSync(newTarget, `${file}.tmp`);
      renameSync(`${file}.tmp`, file); // ln -sfn, atomically
    });
    expect(committed(join(dir, "s.db"), 1)).toBe(statSync(oldTarget).size);
  }, 30_000);
}

/** Writes `bytes` over the file from byte 0, in place: same inode, no truncation. */
function rewriteInPlace(file: string, bytes: Buffer) {
  const ino = statSync(file).ino;
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  expect(statSync(file).ino).toBe(ino);
}

/**
 * A file of 60 lines (more than 4 KiB) and 200 more, rewritten in place as the same 60 lines and
 * 400 others, longer than before. The old committed offset falls inside a line of the new content:
 * read on from there, the tail would take a torn line and miss everything before it.
 */
function rewriteCase() {
  const head = lines("head", 0, 60);
  const before = Buffer.from(head + lines("before", 0, 200));
  const after = Buffer.from(head + lines("after", 0, 400));
  expect(Buffer.byteLength(head)).toBeGreaterThan(4096);
  expect(after.length).toBeGreaterThan(before.length);
  expect(after[before.length - 1]).not.toBe(10); // the old offset is not a line start in the new content
  return { before, after };
}

/** After the rewrite: source 1 is retired as truncated (rewritten), source 2 holds the new content from byte 0, exactly once. */
function expectReadAgain(db: string, after: Buffer) {
  const events = query(db, "SELECT source_id, kind, detail FROM source_events ORDER BY id");
  expect(events.map((e) => `${e.source_id}:${e.kind}`)).toEqual(["1:truncated", "2:follows"]);
  expect(events[0].detail).toContain("rewritten in place");
  checkExactlyOnce(db, after, 2);
  expect(one(db, "SELECT count(*) AS c FROM rejects").c).toBe(0);
  expect(query(db, "SELECT id, state FROM sources ORDER BY id").map((s) => s.state)).toEqual(["retired", "active"]);
}

test("a file rewritten in place past its first 4 KiB while sluice was down is read again from byte 0 as a new source", async () => {
  const dir = freshDir("rewritten-down");
  const file = join(dir, "sse_lines.jsonl"), db = join(dir, "s.db");
  const { before, after } = rewriteCase();
  writeFileSync(file, before);
  let s = await follow(file, db);
  try {
    await waitFor("the first content", () => committed(db, 1) === before.length);
    await kill9(s);
    rewriteInPlace(file, after);
    s = await follow(file, db);
    await waitFor("the new content from byte 0", () => committed(db, 2) === after.length, 5000);
    await Bun.sleep(200);
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expectReadAgain(db, after);
    expect(s.stderr()).toContain("rewritten in place");
  } finally {
    s.proc.kill("SIGKILL");
  }
}, 30_000);

test("a file rewritten in place past its first 4 KiB while followed is read again from byte 0 as a new source", async () => {
  const dir = freshDir("rewritten-live");
  const file = join(dir, "sse_lines.jsonl"), db = join(dir, "s.db");
  const { before, after } = rewriteCase();
  writeFileSync(file, before);
  const s = await follow(file, db);
  try {
    await waitFor("the first content", () => committed(db, 1) === before.length);
    await Bun.sleep(100);
    rewriteInPlace(file, after);
    await waitFor("the new content from byte 0", () => committed(db, 2) === after.length, 5000);
    await Bun.sleep(200);
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expectReadAgain(db, after);
    expect(s.stderr()).toContain("rewritten in place");
  } finally {
    s.proc.kill("SIGKILL");
  }
}, 30_000);

/** The tail fingerprint stored with each source is the one of its committed offset, as tailFingerprintOf reads it. */
function expectTailFingerprints(db: string, file: string) {
  const fd = openSync(file, "r");
  try {
    for (const s of query(db, "SELECT id, committed_offset, tail_fingerprint FROM sources")) {
      expect({ id: s.id, tail: s.tail_fingerprint }).toEqual({ id: s.id, tail: tailFingerprintOf(fd, s.committed_offset) });
    }
  } finally {
    closeSync(fd);
  }
}

test("the tail fingerprint is committed with the offset: backfill (one thread and parallel, killed between merges) and live tail; a restart then goes on", async () => {
  const dir = freshDir("tail-fingerprint");
  // Over 32 MiB, so that the backfill runs in parallel: 17,000 lines of about 2 KB.
  const file = join(dir, "sse_lines.jsonl");
  const fd = openSync(file, "w");
  for (let i = 0; i < 17; i++) writeSync(fd, lines("big", i * 1000, 1000, 2000));
  closeSync(fd);
  const size = statSync(file).size;
  expect(size).toBeGreaterThan(32 << 20);
  // Killed after its first merge: the offset and tail fingerprint of a merged part.
  const parallel = join(dir, "parallel.db");
  const b = start(cmd, ["ingest", file, "--db", parallel, "--jobs", "2"]);
  await waitFor("a merged part", () => committed(parallel, 1) > 0, 20_000);
  await kill9(b);
  // A kill inside a commit leaves a hot journal, which only a writable connection rolls back (at
  // its first read).
  const d = new Database(parallel);
  d.query("SELECT count(*) FROM sources").get();
  d.close();
  if (committed(parallel, 1) < size) expectTailFingerprints(parallel, file);
  for (const [db, jobs] of [[parallel, 2], [join(dir, "single.db"), 1]] as const) {
    const r = await run(cmd, ["ingest", file, "--db", db, "--jobs", String(jobs), "--json"]);
    expect(r.code).toBe(0);
    expectTailFingerprints(db, file);
    expect(one(db, "SELECT count(*) AS c, count(DISTINCT sid) AS d FROM sse_rows")).toEqual({ c: 17_000, d: 17_000 });
    expect(one(db, "SELECT count(*) AS c FROM sources").c).toBe(1); // never taken for a rewrite
  }
  // A small file, resumed by a backfill after an append of less than 4 KiB, then followed.
  const small = join(dir, "small.jsonl"), db = join(dir, "small.db");
  writeFileSync(small, lines("s", 0, 100));
  expect((await run(cmd, ["ingest", small, "--db", db])).code).toBe(0);
  appendFileSync(small, lines("s", 100, 3));
  expect((await run(cmd, ["ingest", small, "--db", db])).code).toBe(0);
  expectTailFingerprints(db, small);
  const s = await follow(small, db);
  try {
    for (let i = 0; i < 5; i++) {
      appendFileSync(small, lines("s", 103 + i * 7, 7));
      await waitFor("the appended lines", () => committed(db, 1) === statSync(small).size);
      expectTailFingerprints(db, small);
    }
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  } finally {
    s.proc.kill("SIGKILL");
  }
  expect(query(db, "SELECT count(*) AS c FROM sources")[0].c).toBe(1); // never taken for a rewrite
  checkExactlyOnce(db, Buffer.from(lines("s", 0, 138)));
}, 60_000);

test("the line reader's tail fingerprint is tailFingerprintOf's at every line start, across refills and an oversized line", () => {
  const dir = freshDir("reader");
  const file = join(dir, "lines.jsonl");
  const text = lines("r", 0, 150) + `{"sid":"huge","line":"${"y".repeat(3000)}"}\n` + lines("r", 150, 150);
  writeFileSync(file, text);
  const bytes = Buffer.from(text);
  const afterHuge = bytes.indexOf("\n", bytes.indexOf('"huge"')) + 1;
  const fd = openSync(file, "r");
  try {
    for (const [start, bufferBytes] of [[0, 512], [0, 1 << 16], [bytes.indexOf("\n", 5000) + 1, 700]] as const) {
      // The bytes before a start come from the caller (the rewrite guard); none at byte 0.
      const behind = bytes.subarray(Math.max(0, start - 4096), start);
      const reader = new LineReader(fd, start, { maxLine: 2048, bufferBytes, behind }, () => {});
      let checked = 0, unknown = 0;
      while (reader.next()) {
        for (let at = reader.start; at < reader.end; at = reader.buf.indexOf(10, at) + 1) {
          const offset = reader.base + at;
          const tail = reader.tailFingerprint(offset);
          // Unknown only within 4 KiB after the oversized line, whose bytes the reader skipped.
          if (tail === null) expect(offset - afterHuge).toBeWithin(0, 4096);
          else expect(tail).toBe(tailFingerprintOf(fd, offset));
          if (tail === null) unknown++;
          checked++;
        }
        const next = reader.tailFingerprint(reader.nextLineOffset);
        if (next !== null) expect(next).toBe(tailFingerprintOf(fd, reader.nextLineOffset));
      }
      expect(reader.tailFingerprint(bytes.length)).toBe(tailFingerprintOf(fd, bytes.length));
      expect(checked).toBeGreaterThan(100);
      expect(unknown).toBeLessThan(40);
    }
  } finally {
    closeSync(fd);
  }
});
