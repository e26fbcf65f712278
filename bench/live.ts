// The live-tail benchmark: the compiled binary follows a file that grows at a steady rate, and this
// reports its memory, latency and CPU, then its CPU when idle.
//
//   bun bench/live.ts                          2,000 lines/s for 10 minutes, then 60 s idle
//   bun bench/live.ts --rate 2000 --minutes 2 --idle 30
//   bun bench/live.ts --compare /tmp/old-sluice  the same run with another build, one after the other
//   bun bench/live.ts --minutes 60 --rotate-every 10 --idle 10   the soak: rename rotation every 10 min
//
// Prints steady RSS (median after the first minute), peak RSS, growth after the first minute, p50
// and p99 append-to-commit latency, CPU under load, and idle CPU. Every minute it prints RSS, open file
// descriptors, WAL size and rows; at the end it checks that rows equal the lines written.

import { Database } from "bun:sqlite";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generate, LineTaker } from "./generate";
import { cpuTicks, quantile, rssKb } from "./proc";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "2000" },
    minutes: { type: "string", default: "10" },
    idle: { type: "string", default: "60" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    "rotate-every": { type: "string", default: "0" },
  },
});
const rate = Number(values.rate), loadSecs = Number(values.minutes) * 60, idleSecs = Number(values.idle);
const rotateSecs = Number(values["rotate-every"]) * 60;
const fileSize = (p: string) => (existsSync(p) ? statSync(p).size : 0);

async function measure(bin: string) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-live-bench-"));
  const file = join(dir, "sse_lines.jsonl"), db = join(dir, "live.db");
  closeSync(openSync(file, "w"));
  const proc = Bun.spawn([bin, "ingest", file, "--follow", "--db", db], { stdout: "ignore", stderr: "ignore" });
  const pid = proc.pid;
  try {
    // wait for the hand-over to the live image
    for (let i = 0; i < 200; i++) {
      await Bun.sleep(50);
      try {
        const d = new Database(db, { readonly: true });
        const mode = (d.query("SELECT mode FROM ingester").get() as any)?.mode;
        d.close();
        if (mode === "live") break;
      } catch {}
    }
    const lines = new LineTaker(generate({ lines: Math.ceil(rate * loadSecs) + 1000, seed: 11 }, 1 << 16));
    const reader = new Database(db, { readonly: true });
    // Rows committed, across every source: latency is measured by line count, so it survives rotation.
    const committed = reader.query("SELECT coalesce(sum(lines), 0) AS c FROM sources");
    const rowsNow = () => (committed.get() as { c: number }).c;
    const writes: Array<{ end: number; at: number }> = [];
    const commits: Array<{ at: number; offset: number }> = [];
    const rss: Array<{ t: number; kb: number }> = [];
    let fd = openSync(file, "a");
    let written = 0, rotations = 0;
    const t0 = performance.now();
    const cpu0 = cpuTicks(pid);
    let nextSample = 0, nextRotation = rotateSecs || Infinity;
    // every 10 ms: append rate/100 lines, and read the rows committed
    while (performance.now() - t0 < loadSecs * 1000) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= nextRotation) {
        // rename rotation, as logrotate without copytruncate does it
        closeSync(fd);
        renameSync(file, `${file}.${++rotations}`);
        fd = openSync(file, "a");
        nextRotation += rotateSecs;
      }
      const due = Math.floor(elapsed * rate) - written;
      if (due > 0) {
        writeSync(fd, lines.take(due));
        written += due;
        writes.push({ end: written, at: performance.now() });
      }
      commits.push({ at: performance.now(), offset: rowsNow() });
      if (performance.now() - t0 >= nextSample) {
        const t = (performance.now() - t0) / 1000;
        rss.push({ t, kb: rssKb(pid) });
        if (rotateSecs && Math.round(t) % 60 === 0) {
          console.log(`  minute ${Math.round(t / 60)}: RSS ${(rssKb(pid) / 1024).toFixed(1)} MB, fds ${readdirSync(`/proc/${pid}/fd`).length}, WAL ${(fileSize(`${db}-wal`) / 1048576).toFixed(1)} MB, rows ${rowsNow().toLocaleString("en-US")} of ${written.toLocaleString("en-US")} written`);
        }
        nextSample += 1000;
      }
      await Bun.sleep(10);
    }
    const cpuLoad = cpuTicks(pid) - cpu0;
    closeSync(fd);
    // let it catch up, then idle
    while (rowsNow() < written) await Bun.sleep(20);
    const cpuIdle0 = cpuTicks(pid);
    await Bun.sleep(idleSecs * 1000);
    const cpuIdle = cpuTicks(pid) - cpuIdle0;
    const rows = (reader.query("SELECT count(*) AS n FROM sse_rows").get() as { n: number }).n;
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    const walMb = fileSize(`${db}-wal`) / 1048576;
    reader.close();

    const lat: number[] = [];
    let j = 0;
    for (const w of writes) {
      while (j < commits.length && (commits[j]!.at < w.at || commits[j]!.offset < w.end)) j++;
      if (j < commits.length) lat.push(commits[j]!.at - w.at);
    }
    const afterFirstMinute = rss.filter((r) => r.t >= 60).map((r) => r.kb);
    const steady = afterFirstMinute.length ? afterFirstMinute : rss.map((r) => r.kb);
    const minuteMedian = (m: number) => quantile(rss.filter((r) => r.t >= m * 60 && r.t < (m + 1) * 60).map((r) => r.kb), 0.5);
    const lastMinute = Math.floor(loadSecs / 60) - 1;
    return {
      bin,
      lines: written,
      rows,
      rotations,
      fds,
      walMb,
      steadyRssMb: quantile(steady, 0.5) / 1024,
      peakRssMb: Math.max(...rss.map((r) => r.kb)) / 1024,
      growthMb: lastMinute >= 2 ? (minuteMedian(lastMinute) - minuteMedian(1)) / 1024 : NaN,
      p50Ms: quantile(lat, 0.5),
      p99Ms: quantile(lat, 0.99),
      cpuLoadPct: cpuLoad / loadSecs, // ticks are 1/100 s: ticks per second = percent of a core
      idleCpuPct: cpuIdle / idleSecs,
    };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`live tail at ${rate} lines/s for ${loadSecs} s, then ${idleSecs} s idle`);
for (const bin of [values.bin!, ...(values.compare ? [values.compare] : [])]) {
  const m = await measure(bin);
  console.log(
    `${bin}: ${m.lines.toLocaleString("en-US")} lines; RSS steady ${m.steadyRssMb.toFixed(1)} MB, peak ${m.peakRssMb.toFixed(1)} MB, growth after the first minute ${Number.isNaN(m.growthMb) ? "n/a (run 3+ minutes)" : `${m.growthMb.toFixed(1)} MB`}; ` +
      `latency p50 ${m.p50Ms.toFixed(0)} ms, p99 ${m.p99Ms.toFixed(0)} ms; CPU ${m.cpuLoadPct.toFixed(1)}% of a core under load, ${m.idleCpuPct.toFixed(2)}% idle`,
  );
  console.log(
    `  ${m.rotations} rotations; ${m.rows.toLocaleString("en-US")} rows for ${m.lines.toLocaleString("en-US")} lines written (${m.rows === m.lines ? "equal" : "MISMATCH"}); ${m.fds} open fds at the end; WAL ${m.walMb.toFixed(1)} MB`,
  );
  if (m.rows !== m.lines) process.exitCode = 1;
}
