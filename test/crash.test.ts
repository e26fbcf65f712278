// kill -9 at random moments (during the parallel load, the merge of parts, the index build, the
// hand-over exec, and the live tail while lines are appended), restart, and check that every line is
// in the table exactly once and the database is intact. CI runs 10 + 10 trials; `bun run
// test:faults` runs 50 + 50 (SLUICE_CRASH_TRIALS, SLUICE_CRASH_LIVE_TRIALS).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile, Rng } from "../bench/generate";
import { checkExactlyOnce, RUNNERS, run, tempDir } from "./helpers";

const tmp = tempDir("sluice-crash-");
const file = join(tmp.dir, "capture.jsonl");
const TRIALS = Number(process.env.SLUICE_CRASH_TRIALS ?? 10);
const LIVE_TRIALS = Number(process.env.SLUICE_CRASH_LIVE_TRIALS ?? 10);

beforeAll(() => {
  // above the parallel threshold, so the kills also land in workers and merges
  generateFile(file, { lines: 70_000, seed: 31, hostile: 0.01, invalid: 0.002 });
});
afterAll(() => tmp.cleanup());

async function ingestUntilKilled(cmd: string[], db: string, killAfterMs: number): Promise<"killed" | "finished"> {
  const p = Bun.spawn([...cmd, "ingest", file, "--db", db, "--batch-rows", "3000"], { stdout: "ignore", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), killAfterMs);
  const code = await p.exited;
  clearTimeout(timer);
  if (p.signalCode === "SIGKILL") return "killed";
  if (code !== 0) throw new Error(`sluice exited ${code}: ${await new Response(p.stderr).text()}`);
  return "finished";
}

test(`kill -9 at random moments, ${TRIALS} trials: every line exactly once, integrity ok`, async () => {
  const rng = new Rng(Number(process.env.SLUICE_CRASH_SEED ?? 5));
  const bytes = readFileSync(file);
  // how long an uninterrupted run takes here, so the kills spread over all of it
  const probeDb = join(tmp.dir, "probe.db");
  const t0 = performance.now();
  await ingestUntilKilled(RUNNERS[1]!.cmd, probeDb, 600_000);
  const fullMs = performance.now() - t0;
  let kills = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const runner = RUNNERS[trial % RUNNERS.length]!;
    const db = join(tmp.dir, `trial${trial}.db`);
    for (let attempt = 0; attempt < 4; attempt++) {
      const outcome = await ingestUntilKilled(runner.cmd, db, 20 + rng.int(Math.ceil(fullMs * 1.1)));
      if (outcome === "finished") break;
      kills++;
      if (existsSync(db)) {
        // read-write: a kill mid-commit leaves a hot journal, which the next opener rolls back
        const d = new Database(db);
        expect((d.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
        d.close();
      }
    }
    const last = await run(runner.cmd, ["ingest", file, "--db", db, "--json"]);
    expect(last.code).toBe(0);
    checkExactlyOnce(db, bytes);
    const d = new Database(db, { readonly: true });
    expect((d.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
    d.close();
    expect(existsSync(`${db}.part1`)).toBe(false);
  }
  expect(kills).toBeGreaterThan(TRIALS / 2);
}, 900_000);

test(`kill -9 while following, through the hand-over and the live tail with appends, ${LIVE_TRIALS} trials`, async () => {
  const rng = new Rng(Number(process.env.SLUICE_CRASH_SEED ?? 5) + 1000);
  let kills = 0, liveKills = 0;
  for (let trial = 0; trial < LIVE_TRIALS; trial++) {
    const runner = RUNNERS[trial % RUNNERS.length]!;
    const input = join(tmp.dir, `live${trial}.jsonl`), db = join(tmp.dir, `live${trial}.db`);
    copyFileSync(file, input);
    // the appender: bursts of lines, some split across two writes (a partial line, then the rest)
    let appending = true, seed = trial * 1000;
    const appender = (async () => {
      while (appending) {
        const chunk = Buffer.concat([...generate({ lines: 200, seed: seed++, hostile: 0.02 })]);
        const cut = rng.int(chunk.length);
        appendFileSync(input, chunk.subarray(0, cut));
        await Bun.sleep(5);
        appendFileSync(input, chunk.subarray(cut));
        await Bun.sleep(40);
      }
    })();
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = Bun.spawn([...runner.cmd, "ingest", input, "--follow", "--db", db, "--poll-ms", "100"], { stdout: "ignore", stderr: "ignore" });
      // spread over the backfill (about 1 s), the hand-over and a few seconds of the live tail
      await Bun.sleep(20 + rng.int(4000));
      const live = existsSync(db) && (() => {
        try {
          const d = new Database(db, { readonly: true });
          const mode = (d.query("SELECT mode FROM ingester").get() as any)?.mode;
          d.close();
          return mode === "live";
        } catch {
          return false;
        }
      })();
      p.kill("SIGKILL");
      await p.exited;
      kills++;
      if (live) liveKills++;
      if (existsSync(db)) {
        const d = new Database(db);
        expect((d.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
        d.close();
      }
    }
    appending = false;
    await appender;
    const last = await run(runner.cmd, ["ingest", input, "--db", db, "--json"]);
    expect(last.code).toBe(0);
    checkExactlyOnce(db, readFileSync(input));
  }
  expect(kills).toBe(LIVE_TRIALS * 3);
  expect(liveKills).toBeGreaterThan(0);
}, 900_000);
