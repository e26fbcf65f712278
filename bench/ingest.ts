// The backfill benchmark: sluice against the native reference (../shared/ref) on the same
// generated file in the same run, repeated, medians quoted. Ratios hold on a noisy machine;
// absolute times do not.
//
//   bun bench/ingest.ts                          3M lines, 3 repeats, dist/sluice vs the reference
//   bun bench/ingest.ts --lines 1000000 --repeat 5
//   bun bench/ingest.ts --compare /tmp/old-sluice  also time another build, same file, same run
//   bun bench/ingest.ts --args "--jobs 1"        extra flags for sluice ingest
//
// Prints, per run and as medians: lines/s, MB/s, peak RSS (the reference's from /usr/bin/time -v,
// sluice's from /proc/self/status VmHWM, which it reports itself), database size,
// and sluice's load and whole-job (load + indexes) time as a ratio to the reference's.

import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateFile } from "./generate";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "3000000" },
    seed: { type: "string", default: "1" },
    repeat: { type: "string", default: "3" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    ref: { type: "string", default: "/tmp/sluice-ref-ingest" },
    args: { type: "string", default: "" },
    dir: { type: "string", default: resolve(import.meta.dir, "..", ".bench") },
  },
});

const lines = Number(values.lines);
mkdirSync(values.dir!, { recursive: true });
const file = join(values.dir!, `sse_lines-${lines}-${values.seed}.jsonl`);
if (!existsSync(file)) {
  const t0 = performance.now();
  const bytes = generateFile(file, { lines, seed: Number(values.seed) });
  console.error(`generated ${file}: ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const fileBytes = statSync(file).size;

function ensureReference(): string | null {
  if (existsSync(values.ref!)) return values.ref!;
  const src = resolve(import.meta.dir, "..", "..", "shared", "ref", "ingest.c");
  const cc = Bun.spawnSync(["gcc", "-O2", "-march=native", "-o", values.ref!, src, "-lsqlite3"], { stderr: "pipe" });
  if (cc.exitCode !== 0) {
    console.error(`could not build the reference (${cc.stderr.toString().trim()}); install it with: apt-get install -y gcc libsqlite3-dev`);
    return null;
  }
  return values.ref!;
}

interface Measured {
  wallSecs: number;
  loadSecs: number;
  indexSecs: number;
  lines: number;
  peakRssMb: number;
  dbMb: number;
}

/** Runs a command under /usr/bin/time -v; returns its stdout and the peak RSS it reports. */
// `/usr/bin/time -v` started from Bun around sluice intermittently exited 1 with no report, while
// sluice itself exited 0 (checked through a shell wrapper). So sluice's peak RSS comes from its
// own summary (VmHWM from /proc/self/status at the end of the run, all threads), and time is used
// for the reference only.
async function timed(cmd: string[], useTime: boolean): Promise<{ stdout: string; peakRssMb: number; wallSecs: number }> {
  useTime &&= existsSync("/usr/bin/time");
  const t0 = performance.now();
  const child = Bun.spawn(useTime ? ["/usr/bin/time", "-v", ...cmd] : cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const wallSecs = (performance.now() - t0) / 1000;
  const p = { exitCode, stdout: out };
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${stderr.split("\tCommand being timed")[0]!.slice(-3000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { stdout: p.stdout, peakRssMb: m ? Number(m[1]) / 1024 : NaN, wallSecs };
}

function dbSizeMb(path: string): number {
  let total = 0;
  for (const s of ["", "-journal", "-wal"]) if (existsSync(path + s)) total += statSync(path + s).size;
  return total / 1e6;
}

async function runReference(ref: string): Promise<Measured> {
  const db = join(values.dir!, "ref.db");
  rmSync(db, { force: true });
  const r = await timed([ref, file, db, "--index"], true);
  const j = JSON.parse(r.stdout.trim().split("\n").pop()!);
  const m = { wallSecs: r.wallSecs, loadSecs: j.secs, indexSecs: j.index_secs, lines: j.lines, peakRssMb: r.peakRssMb, dbMb: dbSizeMb(db) };
  rmSync(db, { force: true });
  return m;
}

async function runSluice(bin: string): Promise<Measured> {
  const db = join(values.dir!, "sluice-bench.db");
  for (const s of ["", "-journal", "-wal", "-shm"]) rmSync(db + s, { force: true });
  const extra = values.args!.split(" ").filter(Boolean);
  const r = await timed([bin, "ingest", file, "--db", db, "--json", ...extra], false);
  const j = JSON.parse(r.stdout);
  const m = { wallSecs: r.wallSecs, loadSecs: j.loadSeconds ?? j.load_seconds, indexSecs: j.indexSeconds ?? j.index_seconds, lines: j.lines, peakRssMb: j.peakRssMb ?? j.peak_rss_mb, dbMb: dbSizeMb(db) };
  for (const s of ["", "-journal", "-wal", "-shm"]) rmSync(db + s, { force: true });
  return m;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function line(name: string, m: Measured, ref?: Measured): string {
  const lps = m.lines / m.loadSecs;
  const parts = [
    name.padEnd(14),
    `load ${m.loadSecs.toFixed(2)} s`,
    `${Math.round(lps).toLocaleString("en-US").padStart(9)} lines/s`,
    `${(fileBytes / 1e6 / m.loadSecs).toFixed(0).padStart(4)} MB/s`,
    `index ${m.indexSecs.toFixed(2)} s`,
    `whole ${(m.loadSecs + m.indexSecs).toFixed(2)} s`,
    `peak RSS ${m.peakRssMb.toFixed(0)} MB`,
    `db ${m.dbMb.toFixed(0)} MB`,
  ];
  if (ref) {
    parts.push(`load speed x${(ref.loadSecs / m.loadSecs).toFixed(2)}`);
    parts.push(`whole-job time x${((m.loadSecs + m.indexSecs) / (ref.loadSecs + ref.indexSecs)).toFixed(2)}`);
  }
  return parts.join("  ");
}

const ref = ensureReference();
const builds: Array<[string, string]> = [["sluice", values.bin!]];
if (values.compare) builds.push(["compare", values.compare]);
console.log(`file: ${file}, ${lines.toLocaleString("en-US")} lines, ${(fileBytes / 1e6).toFixed(0)} MB; ${values.repeat} repeats${values.args ? `; sluice flags: ${values.args}` : ""}`);
const results = new Map<string, Measured[]>();
for (let i = 0; i < Number(values.repeat); i++) {
  const refM = ref ? await runReference(ref) : undefined;
  if (refM) {
    console.log(line(`ref #${i + 1}`, refM));
    (results.get("ref") ?? results.set("ref", []).get("ref")!).push(refM);
  }
  for (const [name, bin] of builds) {
    const m = await runSluice(bin);
    console.log(line(`${name} #${i + 1}`, m, refM));
    (results.get(name) ?? results.set(name, []).get(name)!).push(m);
  }
}
console.log("\nmedians:");
const med = (ms: Measured[]): Measured => ({
  wallSecs: median(ms.map((m) => m.wallSecs)),
  loadSecs: median(ms.map((m) => m.loadSecs)),
  indexSecs: median(ms.map((m) => m.indexSecs)),
  lines: ms[0]!.lines,
  peakRssMb: median(ms.map((m) => m.peakRssMb)),
  dbMb: median(ms.map((m) => m.dbMb)),
});
const refMed = results.has("ref") ? med(results.get("ref")!) : undefined;
if (refMed) console.log(line("ref", refMed));
for (const [name] of builds) console.log(line(name, med(results.get(name)!), refMed));
