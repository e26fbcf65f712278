// The index follower's benchmark: `sluice index --follow` over a tree of many small transcripts,
// first idle, then with one line appended every 200 ms to one of them. Reports its CPU (share of
// one core, from /proc/<pid>/stat), its RSS (median and peak, from /proc/<pid>/status), how many
// times it restarted itself, and the lag from an append to its row.
//
//   bun bench/follow.ts                               50,000 files, 330 s idle (a rescan is every 300 s), 30 s appending
//   bun bench/follow.ts --files 50000 --idle 30 --busy 30 --repeat 3
//   bun bench/follow.ts --compare /tmp/old-sluice     both builds, in turn, each repeat
//
// The tree is built once (about 60 MB) and each build gets its own first index of it.

import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cpuTicks, quantile, rssKb } from "./proc";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "50000" },
    idle: { type: "string", default: "330" },
    busy: { type: "string", default: "30" },
    repeat: { type: "string", default: "1" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const FILES = Number(values.files), IDLE_S = Number(values.idle), BUSY_S = Number(values.busy);
const PER_DIR = 100, TICK = 100; // clock ticks per second

function line(id: string, at: string): string {
  return JSON.stringify({ type: "assistant", sessionId: id, timestamp: at, requestId: `r-${id}`, message: { id: `m-${id}`, model: "claude-sonnet-4-5-20250929", usage: { input_tokens: 10, output_tokens: 1 } } }) + "\n";
}

function buildTree(root: string) {
  for (let d = 0; d * PER_DIR < FILES; d++) {
    const dir = join(root, `-home-user-project-${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < PER_DIR && d * PER_DIR + f < FILES; f++) {
      // a session a minute, as a real history spreads its calls over months
      const at = new Date(Date.UTC(2026, 9, 1) + (d * PER_DIR + f) * 60_000).toISOString();
      writeFileSync(join(dir, `session-${d}-${f}.jsonl`), line(`${d}-${f}-0`, at));
    }
  }
}

const rowCount = (db: string, id: string) => {
  try {
    const d = new Database(db, { readonly: true });
    try {
      return (d.query("SELECT count(*) AS n FROM turns WHERE message_id = ?").get(`m-${id}`) as { n: number }).n;
    } finally {
      d.close();
    }
  } catch {
    return 0;
  }
};

/** Samples CPU and RSS once a second for `secs`; with `append`, one line every 200 ms. */
async function phase(pid: number, secs: number, append: ((i: number) => void) | null) {
  const rss: number[] = [];
  const t0 = cpuTicks(pid), w0 = performance.now();
  let i = 0;
  for (let s = 0; s < secs; s++) {
    for (let k = 0; k < 5; k++) {
      append?.(i++);
      await Bun.sleep(200);
    }
    rss.push(rssKb(pid) / 1024);
  }
  const cpu = (cpuTicks(pid) - t0) / TICK / ((performance.now() - w0) / 1000);
  return { cpu, rssMedian: quantile(rss, 0.5), rssPeak: Math.max(...rss) };
}

async function measure(bin: string, tree: string, run: number) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-follow-bench-"));
  const db = join(dir, "f.db"), none = join(dir, "no-codex"), log = join(dir, "stderr.txt");
  mkdirSync(none);
  try {
    const first = Bun.spawnSync([bin, "index", "--claude", tree, "--codex", none, "--db", db], { stderr: "ignore", stdout: "ignore" });
    if (first.exitCode !== 0) throw new Error(`${bin}: the first index failed`);
    const proc = Bun.spawn([bin, "index", "--follow", "--claude", tree, "--codex", none, "--db", db], { stdout: "ignore", stderr: Bun.file(log) });
    await Bun.sleep(5000); // its own first pass over the tree, and the hand-over
    const idle = await phase(proc.pid, IDLE_S, null);
    const target = join(tree, "-home-user-project-0", "session-0-0.jsonl");
    const lags: number[] = [];
    const busy = await phase(proc.pid, BUSY_S, (i) => appendFileSync(target, line(`b${run}-${i}`, "2026-11-01T10:05:00.000Z")));
    // the lag of one more line, measured alone
    for (let k = 0; k < 5; k++) {
      const id = `lag${run}-${k}`, t = performance.now();
      appendFileSync(target, line(id, "2026-11-01T10:06:00.000Z"));
      while (rowCount(db, id) === 0 && performance.now() - t < 10_000) await Bun.sleep(5);
      lags.push(performance.now() - t);
    }
    proc.kill("SIGTERM");
    await proc.exited;
    const restarts = (readFileSync(log, "utf8").match(/restarting the follower/g) ?? []).length;
    return { idle, busy, lagMs: quantile(lags, 0.5), restarts };
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const tree = mkdtempSync(join(tmpdir(), "sluice-follow-tree-"));
try {
  const t = performance.now();
  buildTree(tree);
  console.log(`tree: ${FILES} files in ${Math.ceil(FILES / PER_DIR)} project directories, built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const builds = values.compare ? [values.bin!, values.compare] : [values.bin!];
  const results = new Map<string, Array<Awaited<ReturnType<typeof measure>>>>(builds.map((b) => [b, []]));
  for (let r = 0; r < Number(values.repeat); r++) {
    for (const bin of builds) {
      if (!existsSync(bin)) throw new Error(`no build at ${bin}`);
      const m = await measure(bin, tree, r);
      results.get(bin)!.push(m);
      console.log(`${bin} run ${r + 1}: idle CPU ${(m.idle.cpu * 100).toFixed(2)}% of a core, RSS ${m.idle.rssMedian.toFixed(1)} MB (peak ${m.idle.rssPeak.toFixed(1)}); ` +
        `appending: CPU ${(m.busy.cpu * 100).toFixed(2)}%, RSS ${m.busy.rssMedian.toFixed(1)} MB (peak ${m.busy.rssPeak.toFixed(1)}); lag ${m.lagMs.toFixed(0)} ms; ${m.restarts} restarts`);
    }
  }
  const med = (bin: string, f: (m: Awaited<ReturnType<typeof measure>>) => number) => quantile(results.get(bin)!.map(f), 0.5);
  for (const bin of builds) {
    console.log(`median ${bin}: idle CPU ${(med(bin, (m) => m.idle.cpu) * 100).toFixed(2)}%, appending CPU ${(med(bin, (m) => m.busy.cpu) * 100).toFixed(2)}%, ` +
      `RSS ${med(bin, (m) => m.busy.rssMedian).toFixed(1)} MB (peak ${med(bin, (m) => Math.max(m.idle.rssPeak, m.busy.rssPeak)).toFixed(1)}), lag ${med(bin, (m) => m.lagMs).toFixed(0)} ms, restarts ${med(bin, (m) => m.restarts)}`);
  }
} finally {
  rmSync(tree, { recursive: true, force: true });
}
