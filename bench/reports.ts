// The reports people run all day, as whole processes on the index of a ~1 GB agent corpus:
// `statusline` (Claude Code runs it after every message; the aim is 30 ms, at most 50 ms at p99),
// `report blocks --json`, `report weekly --json`, `report daily --json` and `report session
// --json`, the builds taking turns in every repeat; and ccusage 20.0.24's own blocks, weekly and
// status line on the same logs in the same run, for the ratio people feel. Prints the median, p90
// and p99 of the wall time, and the median peak RSS of three more runs under GNU time (proc.ts).
//
//   bun bench/reports.ts [--repeat 40] [--ccusage-repeat 3] [--corpus DIR] [--bin dist/sluice] [--compare /tmp/sluice-before]
//
// The corpus is built once (bench/agent-corpus.ts) and kept in --corpus for the next run.

import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentCorpus } from "./agent-corpus";
import { medianPeakRss, quantile } from "./proc";
import { statusJson } from "./queries";

const { values } = parseArgs({
  options: {
    repeat: { type: "string", default: "40" },
    "ccusage-repeat": { type: "string", default: "3" },
    corpus: { type: "string", default: join(tmpdir(), "sluice-bench-agent-corpus") },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
  },
});

interface Sample {
  ms: number;
}

async function timed(cmd: string[], env: Record<string, string> = {}, stdin?: string): Promise<Sample | null> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...env } });
  const [out, , code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  // a build without the command (an older one) is left out of that row
  if (code !== 0 || out.startsWith("sluice: ")) return null;
  return { ms };
}

function corpus(dir: string): { claude: string; codex: string } {
  const roots = { claude: join(dir, "claude"), codex: join(dir, "codex") };
  if (!existsSync(join(dir, "done"))) {
    rmSync(dir, { recursive: true, force: true });
    const made = buildAgentCorpus(dir, 1 << 30, 600);
    console.log(`built the corpus in ${dir}: ${made.files} files, ${(made.bytes / 1e9).toFixed(2)} GB`);
    writeFileSync(join(dir, "done"), "");
  }
  return roots;
}

/** ccusage 20.0.24 (its Rust build, from the registry), as test/ccusage.test.ts installs it. */
async function installCcusage(dir: string): Promise<string | null> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), "{}");
  const pkg = `@ccusage/ccusage-${process.platform}-${process.arch}@20.0.24`;
  const p = Bun.spawn([process.execPath, "add", "--cwd", dir, "ccusage@20.0.24", pkg], { stdout: "ignore", stderr: "ignore" });
  return (await p.exited) === 0 ? join(dir, "node_modules", ".bin", "ccusage") : null;
}

const builds = [values.bin!, ...(values.compare ? [resolve(values.compare)] : [])];
const work = mkdtempSync(join(tmpdir(), "sluice-reports-bench-"));
const med = (xs: number[]) => quantile(xs, 0.5);

function print(name: string, who: string, samples: Sample[], rss: string, first?: number) {
  if (!samples.length) return console.log(`${name.padEnd(22)} ${who}: n/a (the build has no such command)`);
  const ms = samples.map((s) => s.ms);
  const ratio = first === undefined ? "" : `, ${(med(ms) / first).toFixed(2)}x the first build`;
  console.log(`${name.padEnd(22)} ${who}: median ${med(ms).toFixed(1)} ms, p90 ${quantile(ms, 0.9).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms, peak RSS ${rss}${ratio}`);
}

try {
  const roots = corpus(values.corpus!);
  const dbs = builds.map((_, b) => join(work, `index-${b}.db`));
  for (const [b, bin] of builds.entries()) await timed([bin, "index", "--claude", roots.claude, "--codex", roots.codex, "--db", dbs[b]!]);
  const index = new Database(dbs[0]!, { readonly: true });
  const status = statusJson(index);
  index.close();
  const commands: Record<string, (bin: string, db: string) => [string[], string?]> = {
    statusline: (bin, db) => [[bin, "statusline", "--db", db], status],
    "report blocks --json": (bin, db) => [[bin, "report", "blocks", "--json", "--db", db]],
    "report weekly --json": (bin, db) => [[bin, "report", "weekly", "--json", "--db", db]],
    "report daily --json": (bin, db) => [[bin, "report", "daily", "--json", "--db", db]],
    "report session --json": (bin, db) => [[bin, "report", "session", "--json", "--db", db]],
  };
  const runs = builds.map(() => Object.fromEntries(Object.keys(commands).map((k) => [k, [] as Sample[]])));
  for (let i = 0; i <= Number(values.repeat); i++) {
    for (const [name, cmd] of Object.entries(commands)) {
      for (const [b, bin] of builds.entries()) {
        const [argv, stdin] = cmd(bin, dbs[b]!);
        const s = await timed(argv, {}, stdin);
        if (s && i > 0) runs[b]![name]!.push(s); // the first round warms the page cache
      }
    }
  }
  for (const name of Object.keys(commands)) {
    const first = runs[0]![name]!.length ? med(runs[0]![name]!.map((s) => s.ms)) : undefined;
    for (const [b, bin] of builds.entries()) {
      const [argv, stdin] = commands[name]!(bin, dbs[b]!);
      print(name, bin, runs[b]![name]!, await medianPeakRss(argv, { stdin, env: { NO_COLOR: "1" } }), b === 0 ? undefined : first);
    }
  }
  console.log(`${values.repeat} repeats each, the builds in turn`);
  const ccusage = await installCcusage(join(work, "ccusage"));
  if (!ccusage) console.log("ccusage 20.0.24: could not be installed from the registry; its figures are left out");
  else {
    const env = { CLAUDE_CONFIG_DIR: roots.claude, CODEX_HOME: roots.codex, HOME: work };
    const theirs: Record<string, [string[], string?]> = {
      "ccusage statusline": [[ccusage, "statusline", "--offline", "--no-cache"], status],
      "ccusage blocks --json": [[ccusage, "claude", "blocks", "--json", "--offline"]],
      "ccusage weekly --json": [[ccusage, "weekly", "--json", "--offline"]],
    };
    for (const [name, [argv, stdin]] of Object.entries(theirs)) {
      const samples: Sample[] = [];
      for (let i = 0; i < Number(values["ccusage-repeat"]); i++) {
        const s = await timed(argv, env, stdin);
        if (s) samples.push(s);
      }
      print(name, "ccusage 20.0.24", samples, samples.length ? await medianPeakRss(argv, { stdin, env }, 1) : "");
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
