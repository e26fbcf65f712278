// Start-up time: what a person waits for before anything happens. Times `sluice --version` (the
// binary's own start: the runtime, the bundle, the command table) and `sluice report daily` as text
// and as JSON on an index of the samples (start, open, migrate check, query, table layout), as
// whole processes, the builds taking turns in every repeat. Prints medians and p90 of the wall
// time, the median peak RSS of three more runs under GNU time (proc.ts), and the ratios against the
// first build.
//
//   bun bench/startup.ts [--repeat 40] [--bin dist/sluice] [--compare /tmp/sluice-before]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SAMPLES } from "./agent-corpus";
import { medianPeakRss, quantile } from "./proc";

const { values } = parseArgs({
  options: {
    repeat: { type: "string", default: "40" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
  },
});

interface Sample {
  ms: number;
}

async function timed(cmd: string[]): Promise<Sample> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", COLUMNS: "120" } });
  const [, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err.trim()}`);
  return { ms };
}

const builds = [values.bin!, ...(values.compare ? [resolve(values.compare)] : [])];
const dir = mkdtempSync(join(tmpdir(), "sluice-startup-bench-"));
const roots = ["--claude", join(SAMPLES, "claude"), "--codex", join(SAMPLES, "codex")];
const commands: Record<string, (bin: string, db: string) => string[]> = {
  "--version": (bin) => [bin, "--version"],
  "report daily": (bin, db) => [bin, "report", "daily", "--db", db],
  "report daily --json": (bin, db) => [bin, "report", "daily", "--json", "--db", db],
};
const runs = builds.map(() => Object.fromEntries(Object.keys(commands).map((k) => [k, [] as Sample[]])));

try {
  // each build indexes the samples with its own schema
  const dbs = builds.map((bin, b) => join(dir, `index-${b}.db`));
  for (const [b, bin] of builds.entries()) await timed([bin, "index", ...roots, "--db", dbs[b]!]);
  for (const [name, cmd] of Object.entries(commands)) for (const [b, bin] of builds.entries()) await timed(cmd(bin, dbs[b]!)); // warm the page cache
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const [name, cmd] of Object.entries(commands)) {
      for (const [b, bin] of builds.entries()) runs[b]![name]!.push(await timed(cmd(bin, dbs[b]!)));
    }
  }
  const med = (xs: number[]) => quantile(xs, 0.5);
  for (const name of Object.keys(commands)) {
    const first = med(runs[0]![name]!.map((s) => s.ms));
    for (const [b, bin] of builds.entries()) {
      const ms = runs[b]![name]!.map((s) => s.ms);
      const rss = await medianPeakRss(commands[name]!(bin, dbs[b]!), { env: { NO_COLOR: "1", COLUMNS: "120" } });
      const ratio = b === 0 ? "" : `, ${(med(ms) / first).toFixed(2)}x the first build`;
      console.log(`${name.padEnd(20)} ${bin}: median ${med(ms).toFixed(1)} ms, p90 ${quantile(ms, 0.9).toFixed(1)} ms, peak RSS ${rss}${ratio}`);
    }
  }
  console.log(`${values.repeat} repeats each, the builds in turn`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
