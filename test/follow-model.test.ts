// Model-based test of the live tail, in the manner of Vector's file_watcher experiments: seeded
// random sequences of actions go to the real binary and to a plain model of what must be ingested.
// Actions: write lines, write a partial line and complete it later, rename-rotate, copytruncate,
// delete and recreate, pause, and kill -9 then restart sluice.
//
// Without copytruncate the rows must equal the model's lines exactly. With it, never a duplicate
// and never a torn line; every line of the model's lower bound is there (only lines unread at a
// truncation may be lost); and a truncation of a file sluice had read from is recorded in
// source_events.
//
//   1,000 sequences in the default run (about 3.5 minutes, 6 at a time), 10,000 in
//   `bun run test:faults`; SLUICE_MODEL_SEQUENCES sets the count and SLUICE_MODEL_SEED the first
//   seed. A failing sequence prints its seed and keeps its files and sluice's logs;
//   SLUICE_MODEL_ONLY=<seed> replays just that one (SLUICE_MODEL_KEEP=1 keeps every sequence's).

import { afterAll, expect, test } from "bun:test";
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../bench/generate";
import { openReader, RUNNERS, tempDir } from "./helpers";

const tmp = tempDir("sluice-model-");
let failed = false;
afterAll(() => process.env.SLUICE_MODEL_KEEP || failed || tmp.cleanup());
const SEQUENCES = Number(process.env.SLUICE_MODEL_SEQUENCES ?? 1000);
const FIRST_SEED = Number(process.env.SLUICE_MODEL_SEED ?? 1);
const ONLY = process.env.SLUICE_MODEL_ONLY ? Number(process.env.SLUICE_MODEL_ONLY) : null;
const PARALLEL = Number(process.env.SLUICE_MODEL_PARALLEL ?? 6);
const BIN = RUNNERS[1]!.cmd;

type Action = "write" | "partial" | "rotate" | "copytruncate" | "recreate" | "pause" | "kill";

interface Model {
  /** Every complete line written, in order. */
  written: string[];
  /** Lines that must be ingested whatever happens: not exposed to a truncation. */
  mustHave: Set<string>;
  /** Lines in the current file not yet known to be safe from a later truncation. */
  atRisk: string[];
  truncations: number;
  /** Truncations of a file sluice had already committed lines from: it must notice and record them. */
  detectable: number;
}

function line(seed: number, n: number, rng: Rng): string {
  const pad = "x".repeat(rng.int(300));
  return JSON.stringify({ t: "2026-01-24T10:15:02.123Z", source: "claude", sid: `s${seed}-${n}`, flow_id: `f${n}`, round: n, event: "ping", metadata: "{}", line: `data: ${pad}` });
}

async function runSequence(seed: number): Promise<{ actions: Action[]; truncations: number }> {
  const rng = new Rng(seed);
  const dir = join(tmp.dir, `seq-${seed}`);
  mkdirSync(dir);
  const file = join(dir, "sse_lines.jsonl"), db = join(dir, "s.db");
  writeFileSync(file, "");
  const m: Model = { written: [], mustHave: new Set(), atRisk: [], truncations: 0, detectable: 0 };
  let n = 0, rotations = 0, starts = 0, passed = false;
  let partial: string | null = null;
  const spawn = () => Bun.spawn([...BIN, "ingest", file, "--follow", "--db", db, "--poll-ms", "50", "--rotate-wait-ms", "300", "--live-batch-ms", "20"], { stdout: "ignore", stderr: Bun.file(join(dir, `stderr-${(++starts).toString().padStart(2, "0")}.txt`)) });
  // The model's sluice is up: every action happens while a live tail follows the path. (A rotation
  // or deletion while no sluice runs, or inside the hand-over exec, cannot be followed by anyone:
  // the old file is out of reach. See the README, "Not yet".)
  const live = async (p: ReturnType<typeof spawn>) => {
    const until = performance.now() + 15_000;
    while (performance.now() < until) {
      try {
        const d = openReader(db);
        const row = d.query("SELECT pid, mode FROM ingester").get() as { pid: number; mode: string } | null;
        d.close();
        if (row?.pid === p.pid && row.mode === "live") return;
      } catch {}
      await Bun.sleep(20);
    }
    throw new Error(`sequence ${seed}: sluice did not reach the live tail in 15 s`);
  };
  // Before the file leaves the path, the tail has opened it (it has a source with that inode): a
  // file created, written and removed within milliseconds is out of every tailer's reach.
  const following = async () => {
    const ino = statSync(file).ino;
    const until = performance.now() + 15_000;
    while (performance.now() < until) {
      try {
        const d = openReader(db);
        const row = d.query("SELECT 1 AS ok FROM sources WHERE ino = ?").get(ino);
        d.close();
        if (row) return;
      } catch {}
      await Bun.sleep(10);
    }
    throw new Error(`sequence ${seed}: sluice did not open the file at the path in 15 s`);
  };
  // A deleted file is reachable only through sluice's open descriptor: before a kill -9, the model
  // waits until sluice has read what it holds (a rotated file, still in the directory, is found
  // again after the restart, so a kill right after a rotation is not waited for).
  let deletedSinceSync = false;
  const drained = async () => {
    const until = performance.now() + 15_000;
    while (performance.now() < until) {
      try {
        const d = openReader(db);
        const got = new Set((d.query("SELECT raw FROM sse_raw").all() as Array<{ raw: string }>).map((r) => r.raw));
        d.close();
        if ([...m.mustHave].every((l) => got.has(l))) return;
      } catch {}
      await Bun.sleep(20);
    }
  };
  let proc = spawn();
  await live(proc);
  const actions: Action[] = [];
  const finishPartial = () => {
    if (partial === null) return;
    appendFileSync(file, partial.slice(40) + "\n");
    m.written.push(partial);
    m.atRisk.push(partial);
    partial = null;
  };
  const steps = 6 + rng.int(10);
  try {
    for (let i = 0; i < steps; i++) {
      const r = rng.next();
      const action: Action = r < 0.35 ? "write" : r < 0.45 ? "partial" : r < 0.55 ? "rotate" : r < 0.62 ? "copytruncate" : r < 0.7 ? "recreate" : r < 0.85 ? "pause" : "kill";
      actions.push(action);
      switch (action) {
        case "write": {
          finishPartial();
          const lines = Array.from({ length: 1 + rng.int(200) }, () => line(seed, n++, rng));
          appendFileSync(file, lines.join("\n") + "\n");
          m.written.push(...lines);
          m.atRisk.push(...lines);
          break;
        }
        case "partial":
          finishPartial();
          partial = line(seed, n++, rng);
          appendFileSync(file, partial.slice(0, 40));
          break;
        case "rotate":
        case "recreate":
          finishPartial();
          // the old file is drained through sluice's open descriptor: nothing in it is at risk any more
          for (const l of m.atRisk) m.mustHave.add(l);
          m.atRisk = [];
          await following();
          if (action === "rotate") renameSync(file, `${file}.${++rotations}`);
          else {
            rmSync(file);
            deletedSinceSync = true;
          }
          await Bun.sleep(rng.int(100));
          writeFileSync(file, "");
          break;
        case "copytruncate": {
          finishPartial();
          await following();
          const d = openReader(db);
          const c = d.query("SELECT committed_offset AS c FROM sources WHERE ino = ? AND state = 'active'").get(statSync(file).ino) as { c: number } | null;
          d.close();
          if ((c?.c ?? 0) > 0) m.detectable++;
          copyFileSync(file, `${file}.${++rotations}`);
          truncateSync(file, 0);
          // whatever sluice had not read yet is gone from its view: the copy is another file
          m.atRisk = [];
          m.truncations++;
          break;
        }
        case "pause":
          await Bun.sleep(20 + rng.int(300));
          break;
        case "kill":
          if (deletedSinceSync) await drained();
          deletedSinceSync = false;
          await Bun.sleep(rng.int(150));
          proc.kill("SIGKILL");
          await proc.exited;
          proc = spawn();
          await live(proc);
          break;
      }
    }
    finishPartial();
    for (const l of m.atRisk) m.mustHave.add(l);
    // Let it catch up: every line that must be there is there and the rows stopped changing (a
    // line sluice read before a truncation may still arrive), or nothing has changed for 3 s.
    const want = new Set(m.written);
    let last = -1, stableSince = performance.now();
    const deadline = performance.now() + 20_000;
    for (;;) {
      await Bun.sleep(50);
      let rows = -1, complete = false;
      try {
        const d = openReader(db);
        const got = new Set((d.query("SELECT raw FROM sse_raw").all() as Array<{ raw: string }>).map((r) => r.raw));
        d.close();
        rows = got.size;
        complete = [...m.mustHave].every((l) => got.has(l));
      } catch {}
      if (rows !== last) {
        last = rows;
        stableSince = performance.now();
      }
      const stableFor = performance.now() - stableSince;
      if ((complete && stableFor > 250) || stableFor > 3000 || performance.now() > deadline) break;
    }
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);

    const d = openReader(db);
    const raws = (d.query("SELECT raw FROM sse_raw").all() as Array<{ raw: string }>).map((r) => r.raw);
    const truncEvents = (d.query("SELECT count(*) AS n FROM source_events WHERE kind IN ('truncated', 'replaced')").get() as { n: number }).n;
    expect((d.query("PRAGMA integrity_check").get() as any).integrity_check).toBe("ok");
    d.close();
    const got = new Set(raws);
    const where = `sequence ${seed} (${actions.join(", ")})`;
    expect({ where, duplicates: raws.length - got.size }).toEqual({ where, duplicates: 0 });
    const torn = raws.filter((r) => !want.has(r));
    expect({ where, torn: torn.slice(0, 2) }).toEqual({ where, torn: [] });
    if (m.truncations === 0) {
      const missing = m.written.filter((l) => !got.has(l));
      expect({ where, missing: missing.length }).toEqual({ where, missing: 0 });
    } else {
      const missing = [...m.mustHave].filter((l) => !got.has(l));
      expect({ where, missing: missing.length }).toEqual({ where, missing: 0 });
      // lines never read before a truncation are out of every tailer's sight; one that took lines
      // sluice had committed must be noticed and recorded
      if (m.detectable) expect({ where, truncationRecorded: truncEvents > 0 }).toEqual({ where, truncationRecorded: true });
    }
    passed = true;
    return { actions, truncations: m.truncations };
  } finally {
    proc.kill("SIGKILL");
    // a failing sequence keeps its files and sluice's logs (stderr-NN.txt, one per start)
    if (passed && !process.env.SLUICE_MODEL_KEEP) rmSync(dir, { recursive: true, force: true });
    else if (!passed) {
      failed = true;
      console.error(`sequence ${seed}: files and logs kept in ${dir}`);
      // a sluice that crashed says so in its own log: put that in the test's output too
      for (const f of readdirSync(dir).filter((f) => f.startsWith("stderr-"))) {
        const text = readFileSync(join(dir, f), "utf8");
        if (/panic|crashed|Segmentation|Bus error/.test(text)) console.error(`sequence ${seed}, ${f}:\n${text.slice(-1500)}`);
      }
    }
  }
}

test.skipIf(SEQUENCES === 0 && ONLY === null)(`model-based follow: ${ONLY ?? SEQUENCES} seeded sequences against dist/sluice`, async () => {
  const seeds = ONLY !== null ? [ONLY] : Array.from({ length: SEQUENCES }, (_, i) => FIRST_SEED + i);
  let next = 0, withTruncation = 0, kills = 0;
  let firstFailure: unknown = null;
  // The first failure stops the other workers before they start another sequence: left running,
  // they would go on spawning sluices under the test files that come after this one.
  const worker = async () => {
    while (next < seeds.length && firstFailure === null) {
      const seed = seeds[next++]!;
      try {
        const r = await runSequence(seed);
        if (r.truncations) withTruncation++;
        kills += r.actions.filter((a) => a === "kill").length;
      } catch (err) {
        firstFailure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  if (firstFailure !== null) throw firstFailure;
  console.log(`model-based follow: ${seeds.length} sequences, ${withTruncation} with copytruncate, ${kills} kill -9 restarts`);
}, 3_600_000);
