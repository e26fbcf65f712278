// The deep-index benchmark: a corpus shaped like a heavy user's (668 Claude Code and Codex sessions
// with subagents, files from 1 KB to 50 MB, about 1 GB by default), built from the real samples
// with their ids made unique, then timed: a full index, its write phase, a re-index with nothing
// changed, one session appended, and `report daily --json`; ccusage's `daily --json` on the same
// corpus when --ccusage names its binary. The full index also gives lines/s, MB/s, CPU time and
// peak RSS (the kernel's, from wait4).
//
//   bun bench/index.ts [--mb 1000] [--sessions 668] [--repeat 3] [--bin dist/sluice] [--compare other/sluice] [--ccusage path] [--corpus DIR]
//
// --compare runs a second build in turn with the first, each repeat, and prints both; the machine's
// speed moves too much from one minute to the next for runs made apart to be compared.
// --corpus keeps the corpus in DIR and reuses it on the next run (it is appended to by each run).

import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentCorpus, SAMPLES, variant } from "./agent-corpus";
import { quantile } from "./proc";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "1000" },
    sessions: { type: "string", default: "668" },
    repeat: { type: "string", default: "3" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    ccusage: { type: "string" },
    keep: { type: "boolean", default: false },
    corpus: { type: "string" },
  },
});

async function timed(cmd: string[], env: Record<string, string> = {}): Promise<{ ms: number; out: string; peakRssMb: number; cpuS: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed: ${err.trim()}`);
  const usage = p.resourceUsage();
  return { ms: performance.now() - t0, out, peakRssMb: (usage?.maxRSS ?? 0) / 1e6, cpuS: Number(usage?.cpuTime.total ?? 0n) / 1e6 };
}

const dir = values.corpus ? resolve(values.corpus) : join(tmpdir(), `sluice-index-bench-${process.pid}`);
const t0 = performance.now();
if (values.corpus && existsSync(join(dir, "claude"))) console.log(`corpus: reusing ${dir}`);
else {
  const corpus = buildAgentCorpus(dir, Number(values.mb) * 1e6, Number(values.sessions));
  console.log(`corpus: ${corpus.files} session files, ${(corpus.bytes / 1e6).toFixed(0)} MB, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const builds = [values.bin!, ...(values.compare ? [values.compare] : [])];
const roots = ["--claude", join(dir, "claude"), "--codex", join(dir, "codex")];
const METRICS = ["full", "write", "unchanged", "append", "report", "lines_per_s", "mb_per_s", "peak_rss_mb", "cpu_s"] as const;
const runs = builds.map(() => Object.fromEntries(METRICS.map((k) => [k, [] as number[]])) as Record<(typeof METRICS)[number], number[]>);
const ccusageRuns: number[] = [];
const appended = readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"), "utf8").split("\n").filter(Boolean);
try {
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const [b, bin] of builds.entries()) {
      const db = join(dir, `bench-${b}-${i}.db`);
      const m = runs[b]!;
      const full = await timed([bin, "index", ...roots, "--db", db, "--json"]);
      const r = JSON.parse(full.out);
      m.full.push(full.ms);
      m.write.push(r.writeMs ?? r.write_ms);
      m.lines_per_s.push(r.lines / (full.ms / 1000));
      m.mb_per_s.push(r.bytes / 1e6 / (full.ms / 1000));
      m.peak_rss_mb.push(full.peakRssMb);
      m.cpu_s.push(full.cpuS);
      m.unchanged.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
      appendFileSync(join(dir, "claude", "projects", "-work-p1", "00000001.jsonl"), variant(appended, 9999, i * builds.length + b));
      m.append.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
      m.report.push((await timed([bin, "report", "daily", "--json", "--db", db])).ms);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
      console.log(
        `run ${i + 1}, ${bin}: full ${(full.ms / 1000).toFixed(2)} s (${r.lines.toLocaleString("en-US")} lines, ${r.turns.toLocaleString("en-US")} turns, ` +
          `writes ${r.writeMs ?? r.write_ms} ms, ${full.cpuS.toFixed(2)} s CPU, peak RSS ${full.peakRssMb.toFixed(0)} MB)`,
      );
    }
    if (values.ccusage) ccusageRuns.push((await timed([values.ccusage, "daily", "--json", "--offline"], { CLAUDE_CONFIG_DIR: join(dir, "claude"), CODEX_HOME: join(dir, "codex"), HOME: dir })).ms);
  }
  const med = (xs: number[]) => quantile(xs, 0.5);
  for (const [b, bin] of builds.entries()) {
    const m = runs[b]!;
    console.log(
      `medians, ${bin}: full index ${med(m.full).toFixed(0)} ms (target 3000; ${med(m.lines_per_s).toFixed(0)} lines/s, ${med(m.mb_per_s).toFixed(0)} MB/s, ` +
        `${med(m.cpu_s).toFixed(2)} s CPU, peak RSS ${med(m.peak_rss_mb).toFixed(0)} MB), write phase ${med(m.write).toFixed(0)} ms (target 200), ` +
        `unchanged ${med(m.unchanged).toFixed(0)} ms (target 100), one session appended ${med(m.append).toFixed(0)} ms (target 50), ` +
        `report daily --json ${med(m.report).toFixed(0)} ms (target 100)`,
    );
  }
  if (builds.length === 2) console.log(`full index, ${builds[1]} / ${builds[0]}: ${(med(runs[1]!.full) / med(runs[0]!.full)).toFixed(2)}x the time`);
  console.log(`ccusage daily --json: ${ccusageRuns.length ? `${med(ccusageRuns).toFixed(0)} ms` : "n/a (no --ccusage)"}`);
  console.log(`(times of whole processes: each includes about 20 ms of process start)`);
} finally {
  if (!values.keep && !values.corpus) rmSync(dir, { recursive: true, force: true });
}
