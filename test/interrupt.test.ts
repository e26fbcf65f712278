// SIGINT and SIGTERM at seeded random moments of a backfill (the parallel load with its part files,
// the sequential load, the index build at the end, a second signal while cleaning up), of a backup
// of vacuum --full and of a first `sluice index`: exit 130 or 143 with one line that says where it stopped, no part or
// temporary file left, every other command reads the database at once (never "damaged"), and the
// next ingest resumes with every line exactly once. Also: the wrong input (a transcript, a rollout,
// a raw SSE stream) said in one line, and stdin piped twice.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { buildAgentCorpus } from "../bench/agent-corpus";
import { generateFile, Rng } from "../bench/generate";
import { checkExactlyOnce, one, query, RUNNERS, run, SHARED, start, tempDir } from "./helpers";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-interrupt-");
const file = join(tmp.dir, "capture.jsonl");
/** Databases per signal test; each is interrupted twice (SIGINT and SIGTERM) before it is finished. */
const TRIALS = Number(process.env.SLUICE_INTERRUPT_TRIALS ?? 10);
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type Sig = keyof typeof EXIT;

let bytes: Buffer;
let fullMs = 0;
beforeAll(async () => {
  // above the parallel threshold (32 MiB), so a first run cuts it into parts
  generateFile(file, { lines: 70_000, seed: 41, hostile: 0.01, invalid: 0.002 });
  bytes = readFileSync(file);
  const t0 = performance.now();
  const r = await run(BIN, ["ingest", file, "--db", join(tmp.dir, "probe.db")]);
  expect(r.code).toBe(0);
  fullMs = performance.now() - t0;
}, 60_000); // a loaded machine takes more than the default 5 s
afterAll(() => tmp.cleanup());

/** stderr as the lines a person sees: the progress line's redraws taken out. */
const stderrLines = (text: string) => text.split("\n").map((l) => l.replace(/^.*\r\x1b\[K/s, "")).filter((l) => l.trim() !== "");

/**
 * When to send the signal: at a random point (`frac`) of what is left to do, once a part file
 * exists (plus `ms`), once the index build shows, or twice, 2 ms apart.
 */
type Moment = { kind: "random" | "sequential"; frac: number } | { kind: "parts"; ms: number } | { kind: "index" } | { kind: "double"; ms: number };

interface Outcome {
  code: number;
  lines: string[];
  /** The interrupted line's figures, when it was interrupted. */
  committed?: number;
  total?: number;
  notBuilt?: number;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    try {
      if (cond()) return true;
    } catch {} // a database being created
    await Bun.sleep(3);
  }
  return false;
}

/** The committed offset of the newest source, or 0 before there is one. */
function committedNow(db: string): number {
  try {
    return one(db, "SELECT committed_offset AS c FROM sources ORDER BY id DESC LIMIT 1")?.c ?? 0;
  } catch {
    return 0;
  }
}

/** Runs `ingest FILE` and sends `sig` at `moment`; returns the exit code and the stderr lines. */
async function ingestInterrupted(db: string, sig: Sig, moment: Moment): Promise<Outcome> {
  // a resumed run has less to read; the index build takes about a fifth of an uninterrupted run
  const left = 1 - (existsSync(db) ? committedNow(db) : 0) / bytes.length;
  const slower = moment.kind === "sequential" ? 1.5 : 1;
  const extra = moment.kind === "sequential" ? ["--jobs", "1"] : moment.kind === "index" ? ["--progress"] : [];
  const s = start(BIN, ["ingest", file, "--db", db, ...extra]);
  let exited = false;
  void s.exited.then(() => (exited = true));
  if (moment.kind === "parts") await until(() => exited || readdirSync(tmp.dir).some((n) => n.startsWith(`${basename(db)}.part`)), 10_000);
  if (moment.kind === "index") await until(() => exited || s.stderr().includes("building"), 10_000);
  if ("ms" in moment) await Bun.sleep(moment.ms);
  if ("frac" in moment) await Bun.sleep(30 + moment.frac * fullMs * slower * (0.25 + left));
  s.proc.kill(sig);
  if (moment.kind === "double") {
    await Bun.sleep(2);
    s.proc.kill(sig);
  }
  const code = await s.exited;
  await Bun.sleep(20); // the last of stderr
  const lines = stderrLines(s.stderr());
  const m = /^\[warn\] interrupted: committed through byte ([\d,]+) of ([\d,]+) \((\d+\.\d)%\)(?:, (\d) of 7 indexes not built yet)?; run the same command to resume$/.exec(lines[0] ?? "");
  const num = (x: string | undefined) => (x === undefined ? undefined : Number(x.replace(/,/g, "")));
  return { code, lines, committed: num(m?.[1]), total: num(m?.[2]), notBuilt: num(m?.[4]) ?? (m ? 0 : undefined) };
}

/** stats, check and report daily at once, side by side: each reads the database, none calls it damaged. */
async function readersAgree(db: string, what = "") {
  const [stats, check, report, status] = await Promise.all([
    run(BIN, ["stats", "--db", db]), run(BIN, ["check", "--db", db]), run(BIN, ["report", "daily", "--db", db]), run(BIN, ["status", "--db", db]),
  ]);
  const said = `${what}\n${[stats, check, report, status].map((r) => `exit ${r.code}: ${r.stdout}${r.stderr}`).join("\n")}`;
  for (const r of [stats, check, report, status]) expect(`${r.stdout}${r.stderr}`, said).not.toMatch(/damaged|malformed|read-?only|locked|unexpected error/i);
  expect(check.stdout, said).toContain("ok:");
  expect(check.code, said).toBe(0);
  expect(stats.code, said).toBeLessThan(2); // degraded at worst: no ingester running
  expect(status.code, said).toBe(0);
  // a capture without a deep index: the report may say so, nothing worse
  if (report.code !== 0) expect(report.stderr, said).toContain("no deep index");
}

const leftovers = (db: string) => readdirSync(tmp.dir).filter((n) => n.startsWith(`${basename(db)}.part`) || n.startsWith(`${basename(db)}.tmp-`));

/** The moments of one database's two interruptions: the first on a fresh database, the second on the resume. */
function momentsFor(trial: number, rng: Rng): [Moment, Moment] {
  const any = (): Moment => ({ kind: "random", frac: rng.next() });
  switch (trial % 5) {
    case 0:
      return [{ kind: "parts", ms: rng.int(Math.ceil(fullMs * 0.6)) }, any()];
    case 1:
      return [{ kind: "sequential", frac: rng.next() }, { kind: "index" }];
    case 2:
      return [{ kind: "index" }, any()];
    case 3:
      return [{ kind: "double", ms: rng.int(Math.ceil(fullMs * 0.8)) }, any()];
    default:
      return [any(), any()];
  }
}

test(`SIGINT and SIGTERM at ${2 * TRIALS} random moments of a backfill: one line, 130/143, readers at once, then exactly once`, async () => {
  const rng = new Rng(Number(process.env.SLUICE_INTERRUPT_SEED ?? 7));
  const seen = { beforeStart: 0, interrupted: 0, SIGINT: 0, SIGTERM: 0, duringParts: 0, duringIndex: 0, double: 0 };
  for (let trial = 0; trial < TRIALS; trial++) {
    const db = join(tmp.dir, `t${trial}.db`);
    const sigs: [Sig, Sig] = trial % 2 ? ["SIGTERM", "SIGINT"] : ["SIGINT", "SIGTERM"];
    const moments = momentsFor(trial, rng);
    for (let i = 0; i < 2; i++) {
      const sig = sigs[i]!, moment = moments[i]!;
      const before = existsSync(db) ? committedNow(db) : null;
      const o = await ingestInterrupted(db, sig, moment);
      const what = `trial ${trial} ${sig} ${JSON.stringify(moment)}: exit ${o.code}, stderr ${JSON.stringify(o.lines)}`;
      if (o.lines.length === 0 && o.code === EXIT[sig]) {
        // the signal came before sluice had set up its handlers: it had done nothing yet
        expect(existsSync(db) ? committedNow(db) : null, what).toBe(before);
        seen.beforeStart++;
      } else if (o.code === 0) {
        // it finished before the signal was seen: a normal summary
        expect(o.lines.at(-1), what).toContain("[success]");
      } else {
        expect(o.code, what).toBe(EXIT[sig]);
        if (moment.kind === "double" && o.lines[0]?.includes("interrupted again")) seen.double++;
        else {
          expect(o.lines.length, what).toBe(1);
          expect(o.committed, what).toBeDefined();
          expect(o.total, what).toBe(bytes.length);
          expect(o.committed, what).toBe(one(db, "SELECT committed_offset AS c FROM sources ORDER BY id DESC LIMIT 1").c);
          if (o.committed === o.total && o.notBuilt! > 0) seen.duringIndex++;
          if (moment.kind === "parts" && o.committed! < o.total!) seen.duringParts++;
        }
        seen.interrupted++;
        seen[sig]++;
      }
      expect(leftovers(db), what).toEqual([]);
      // (killed before it made the database, there is none to read)
      if (existsSync(db)) await readersAgree(db, what);
    }
    const last = await run(BIN, ["ingest", file, "--db", db]);
    expect(last.code, last.stderr).toBe(0);
    checkExactlyOnce(db, bytes);
    expect(query(db, "SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'idx_sse_%'").length).toBe(7);
    expect((await run(BIN, ["check", "--db", db])).code).toBe(0);
  }
  console.log(`interrupt: ${JSON.stringify(seen)} over ${2 * TRIALS} moments; an uninterrupted backfill took ${fullMs.toFixed(0)} ms`);
  expect(seen.interrupted).toBeGreaterThanOrEqual(TRIALS);
  expect(seen.SIGINT).toBeGreaterThan(0);
  expect(seen.SIGTERM).toBeGreaterThan(0);
  expect(seen.duringParts).toBeGreaterThan(0);
  expect(seen.duringIndex).toBeGreaterThan(0);
}, 180_000);

describe("backup and vacuum --full", () => {
  const db = join(tmp.dir, "ops.db");
  beforeAll(async () => {
    expect((await run(BIN, ["ingest", file, "--db", db])).code).toBe(0);
  }, 60_000);

  for (const op of ["backup", "vacuum --full"] as const) {
    test(`${op}: SIGINT and SIGTERM at random moments remove the copy, leave the database as it was, one line, 130/143`, async () => {
      const rng = new Rng(op === "backup" ? 11 : 12);
      const target = join(tmp.dir, "backup.db");
      const args = op === "backup" ? ["backup", target, "--db", db] : ["vacuum", "--full", "--db", db];
      const t0 = performance.now();
      expect((await run(BIN, args)).code).toBe(0);
      const opMs = performance.now() - t0;
      let interrupted = 0;
      for (let i = 0; i < 6; i++) {
        const sig: Sig = i % 2 ? "SIGTERM" : "SIGINT";
        if (op === "backup") writeFileSync(target, "an older backup");
        const s = start(BIN, [...args, ...(op === "backup" ? ["--force"] : [])]);
        await Bun.sleep(20 + rng.int(Math.ceil(opMs * 0.9)));
        s.proc.kill(sig);
        const code = await s.exited;
        await Bun.sleep(20);
        const lines = stderrLines(s.stderr());
        const what = `${op} ${sig}: exit ${code}, stderr ${JSON.stringify(lines)}`;
        expect(readdirSync(tmp.dir).filter((n) => n.includes(".tmp-")), what).toEqual([]);
        if (code === 0) continue; // done before the signal
        expect(code, what).toBe(EXIT[sig]);
        // no line: the signal came before sluice had set up its handlers, and it had done nothing
        if (lines.length) {
          interrupted++;
          expect(lines.length, what).toBe(1);
          expect(lines[0], what).toMatch(/^\[warn\] interrupted: .*run the same command/);
        }
        if (op === "backup") expect(readFileSync(target, "utf8"), what).toBe("an older backup");
        else {
          expect(one(db, "SELECT mode FROM ingester").mode, what).toBe("stopped");
          expect(query(db, "SELECT * FROM writers"), what).toEqual([]);
          expect(one(db, "PRAGMA journal_mode").journal_mode, what).toBe("wal");
        }
        await readersAgree(db);
      }
      checkExactlyOnce(db, bytes);
      expect(interrupted).toBeGreaterThan(1);
    }, 60_000);
  }
});

describe("index", () => {
  const corpus = join(tmp.dir, "agents");
  const roots = () => ["--claude", join(corpus, "claude"), "--codex", join(corpus, "codex")];
  const reference = join(tmp.dir, "index-reference.db");
  /** What an index holds, as the reports and the tables say it. */
  const contents = async (db: string) => ({
    daily: JSON.parse((await run(BIN, ["report", "daily", "--json", "--db", db])).stdout),
    rows: query(db, "SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM turns) AS t, (SELECT count(*) FROM invocations) AS i, (SELECT sum(output_tokens) FROM turns) AS o, (SELECT sum(lines) FROM agent_files) AS l"),
  });
  /** Files whose rows a run wrote (a file planned but not yet read has no inode recorded). */
  const readFiles = (db: string) => (existsSync(db) ? one(db, "SELECT count(ino) AS n FROM agent_files").n : 0);
  let indexMs = 0;
  beforeAll(async () => {
    // above 64 MB: a first index parses in threads and loads in bulk; --no-bulk commits every 64 MB
    buildAgentCorpus(corpus, 50e6, 240);
    const t0 = performance.now();
    const r = await run(BIN, ["index", ...roots(), "--db", reference]);
    indexMs = performance.now() - t0;
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  /** Runs `index` and sends `sig` (twice with `double`) at a random moment of the run, once the database exists. */
  async function indexInterrupted(db: string, sig: Sig, extra: string[], ms: number, double: boolean) {
    const s = start(BIN, ["index", ...roots(), "--db", db, ...extra]);
    let exited = false;
    void s.exited.then(() => (exited = true));
    await until(() => exited || existsSync(db), 5000);
    await Bun.sleep(ms);
    s.proc.kill(sig);
    if (double) {
      await Bun.sleep(2);
      s.proc.kill(sig);
    }
    const code = await s.exited;
    await Bun.sleep(20);
    return { code, lines: stderrLines(s.stderr()) };
  }

  test("SIGINT and SIGTERM at random moments of a first index: one line with how far it got, 130/143, readers at once, then the same index as one run", async () => {
    const rng = new Rng(23);
    const expected = await contents(reference);
    expect(expected.rows[0].t).toBeGreaterThan(5000);
    const seen = { interrupted: 0, SIGINT: 0, SIGTERM: 0, someWritten: 0, stoppedEarly: 0, double: 0 };
    for (let trial = 0; trial < 6; trial++) {
      const db = join(tmp.dir, `index-${trial}.db`);
      const extra = [[], ["--no-bulk"], ["--jobs", "0", "--no-bulk"]][trial % 3]!;
      for (const sig of (trial % 2 ? ["SIGTERM", "SIGINT"] : ["SIGINT", "SIGTERM"]) as Sig[]) {
        const before = readFiles(db);
        const double = trial === 5 && sig === "SIGINT";
        const o = await indexInterrupted(db, sig, extra, rng.int(Math.ceil(indexMs * 0.8)), double);
        const what = `trial ${trial} ${extra.join(" ")} ${sig}: exit ${o.code}, stderr ${JSON.stringify(o.lines)}`;
        if (o.code === 0) expect(o.lines, what).toEqual([]); // done before the signal (its summary is on stdout)
        else {
          expect(o.code, what).toBe(EXIT[sig]);
          if (double && o.lines[0]?.includes("interrupted again")) {
            // the second signal came while the first was being acted on: stopped at once, in one line
            expect(o.lines, what).toEqual(["[warn] interrupted again while cleaning up: stopped at once; what was committed is intact, run the same command to resume"]);
            seen.double++;
          } else if (o.lines.length) {
            expect(o.lines.length, what).toBe(1);
            const m = /^\[warn\] interrupted: (?:indexed ([\d,]+) of ([\d,]+) files? to read \(.+ of .+\), committed|nothing indexed .*); run the same command to resume$/.exec(o.lines[0]!);
            expect(m, what).not.toBeNull();
            // the files it says it indexed are the ones committed
            const n = (x: string) => Number(x.replace(/,/g, ""));
            if (m![1] !== undefined) expect(readFiles(db) - before, what).toBe(n(m![1]));
            // stopped mid-run, not at the end of it
            if (m![1] !== undefined && n(m![1]) < n(m![2]!)) seen.stoppedEarly++;
            if (readFiles(db) > before) seen.someWritten++;
            seen.interrupted++;
            seen[sig]++;
          }
        }
        // no hot journal left behind: every other command reads the database at once
        expect(existsSync(`${db}-journal`) && statSync(`${db}-journal`).size > 0, what).toBe(false);
        if (existsSync(db)) await readersAgree(db, what);
      }
      const last = await run(BIN, ["index", ...roots(), "--db", db, "--json"]);
      expect(last.code, last.stderr).toBe(0);
      const r = JSON.parse(last.stdout);
      expect(r.rewritten + r.grown, last.stdout).toBe(0); // what a stopped run left is new or unchanged, never "rewritten"
      expect(await contents(db), `trial ${trial}`).toEqual(expected);
      expect((await run(BIN, ["check", "--db", db])).code).toBe(0);
    }
    console.log(`index interrupt: ${JSON.stringify(seen)} over 12 moments; an uninterrupted first index took ${indexMs.toFixed(0)} ms`);
    expect(seen.interrupted).toBeGreaterThanOrEqual(4);
    expect(seen.SIGINT).toBeGreaterThan(0);
    expect(seen.SIGTERM).toBeGreaterThan(0);
    expect(seen.someWritten).toBeGreaterThan(0);
    expect(seen.stoppedEarly).toBeGreaterThanOrEqual(3);
  }, 240_000);

  test("index --follow stopped during its first index: one line and 130/143, or (the index complete) exit 0 without following; never a follower left running", async () => {
    const rng = new Rng(29);
    const outcomes = { interrupted: 0, complete: 0 };
    for (let i = 0; i < 6; i++) {
      const sig: Sig = i % 2 ? "SIGTERM" : "SIGINT";
      const db = join(tmp.dir, `follow-${i}.db`);
      const s = start(BIN, ["index", "--follow", ...roots(), "--db", db, "--poll-ms", "100"]);
      let exited = false;
      void s.exited.then(() => (exited = true));
      await until(() => exited || existsSync(db), 5000);
      // the late moments (the first index done, or nearly) are the ones a lost signal would leave following
      await Bun.sleep(i < 3 ? rng.int(Math.ceil(indexMs * 0.8)) : indexMs * (0.8 + 0.1 * i));
      s.proc.kill(sig);
      const code = await Promise.race([s.exited, Bun.sleep(15_000).then(() => "still running")]);
      if (code === "still running") s.proc.kill("SIGKILL");
      await Bun.sleep(20);
      const lines = stderrLines(s.stderr());
      const what = `${sig} ${i}: exit ${code}, stderr ${JSON.stringify(lines)}`;
      if (code === EXIT[sig] && lines.length === 1) {
        expect(lines[0], what).toMatch(/^\[warn\] interrupted: (indexed [\d,]+ of [\d,]+ files? to read|nothing indexed).*; run the same command to resume$/);
        outcomes.interrupted++;
      } else if (code === 0) {
        // done before the signal: stopped before following, or the live follower's clean stop
        expect(lines.join("\n"), what).toMatch(/stopped before following|handing over/);
        outcomes.complete++;
      } else expect(code, what).toBe(EXIT[sig]); // before its handlers were set: nothing said
    }
    expect(outcomes.interrupted, JSON.stringify(outcomes)).toBeGreaterThan(0);
  }, 180_000);
});

describe("the wrong input", () => {
  const claude = join(SHARED, "samples/claude/projects/-Users-dain-workspace-claude-code-log-sample/0d3a8e6f-290f-4105-a327-a2496e5e2a83.jsonl");
  const codex = join(SHARED, "samples/codex/localpush-2026-02-23/raw/sessions/rollout-2026-02-23T12-40-23-019c8a4c-ed82-79a1-aa28-7738fc5ab61a.jsonl");
  const sse = join(SHARED, "samples/sse/anthropic/basic_response.sse");

  for (const [name, path, says] of [
    ["a Claude Code transcript", claude, "'sluice index --claude DIR'"],
    ["a Codex rollout", codex, "'sluice index --codex DIR'"],
    ["a raw SSE stream", sse, "sse-envelope.md), not a raw stream"],
  ] as const) {
    test(`${name}: exit 1 with one line naming what it is meant for`, async () => {
      const db = join(tmp.dir, `wrong-${basename(path)}.db`);
      const r = await run(BIN, ["ingest", path, "--db", db]);
      const lines = stderrLines(r.stderr);
      expect(r.code, r.stderr).toBe(1);
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toStartWith(`[error] nothing ingested from ${path}: it looks like ${name}`);
      expect(lines[0]).toContain(says);
      expect(r.stdout).toBe("");
    });
  }

  test("a raw SSE stream on stdin: the same", async () => {
    const r = await run(BIN, ["ingest", "-", "--db", join(tmp.dir, "wrong-stdin.db")], { stdin: readFileSync(sse) });
    expect(r.code).toBe(1);
    expect(stderrLines(r.stderr)).toEqual([expect.stringContaining("nothing ingested from stdin: it looks like a raw SSE stream")]);
  });

  test("envelope lines then a raw stream: the rows are ingested, exit 0, one warning", async () => {
    const mixed = join(tmp.dir, "mixed.jsonl");
    writeFileSync(mixed, Buffer.concat([bytes.subarray(0, bytes.indexOf(10, 5000) + 1), readFileSync(sse), Buffer.from("\n")]));
    const db = join(tmp.dir, "mixed.db");
    const r = await run(BIN, ["ingest", mixed, "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    const lines = stderrLines(r.stderr);
    expect(lines.length).toBe(2);
    expect(lines[0]).toStartWith(`[warn] ${mixed} looks mostly like a raw SSE stream`);
    expect(lines[1]).toStartWith("[success]");
    expect(one(db, "SELECT count(*) AS n FROM sse_rows WHERE sid IS NOT NULL").n).toBeGreaterThan(0);
  });

  test("a capture says nothing of the kind", async () => {
    const small = join(tmp.dir, "small.jsonl");
    writeFileSync(small, bytes.subarray(0, bytes.indexOf(10, 300_000) + 1));
    const r = await run(BIN, ["ingest", small, "--db", join(tmp.dir, "right.db")]);
    expect(r.code).toBe(0);
    expect(stderrLines(r.stderr)).toEqual([expect.stringMatching(/^\[success\]/)]);
  });
});

describe("stdin", () => {
  test("piped twice: the second run says stdin has no identity and appends again", async () => {
    const db = join(tmp.dir, "stdin.db");
    const part = bytes.subarray(0, bytes.indexOf(10, 200_000) + 1);
    const first = await run(BIN, ["ingest", "-", "--db", db], { stdin: part });
    expect(first.code).toBe(0);
    expect(stderrLines(first.stderr)).toEqual([expect.stringMatching(/^\[success\]/)]);
    const second = await run(BIN, ["ingest", "-", "--db", db], { stdin: part });
    expect(second.code).toBe(0);
    const lines = stderrLines(second.stderr);
    expect(lines.length).toBe(2);
    expect(lines[0]).toStartWith("[warn] stdin has no identity: this database already holds a stdin source");
    expect(lines[0]).toContain("capture it to a file");
    // what the warning says: the same lines, twice
    checkExactlyOnce(db, part, 1);
    checkExactlyOnce(db, part, 2);
  });

  test("SIGTERM while the pipe is idle: stops at once, with what was read committed", async () => {
    const db = join(tmp.dir, "stdin-idle.db");
    const s = start(BIN, ["ingest", "-", "--db", db], { stdin: "pipe" });
    const part = bytes.subarray(0, bytes.indexOf(10, 1_000_000) + 1);
    const sink = s.proc.stdin as import("bun").FileSink;
    sink.write(part);
    sink.flush();
    // an idle pipe commits what it has read once the batch is due (--batch-ms, 1 s)
    await until(() => committedNow(db) === part.length, 10_000);
    const t0 = performance.now();
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(143);
    expect(performance.now() - t0).toBeLessThan(2000);
    const lines = stderrLines(s.stderr());
    expect(lines).toEqual([`[warn] interrupted: committed through byte ${part.length.toLocaleString("en-US")} of stdin, 7 of 7 indexes not built yet; stdin has no identity, so a re-run appends what it is given as a new source: capture the stream to a file to ingest it exactly once`]);
    checkExactlyOnce(db, part);
    await readersAgree(db);
    expect(statSync(db).mode & 0o777).toBe(0o600);
  });
});
