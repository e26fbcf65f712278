// The archive's benchmark (issue 18): on the deep-index corpus (bench/agent-corpus.ts, about 1 GB),
// the full first index with the archive and the search index against another build (the one
// before, with --compare), the database's size against the logs' bytes, a re-index with nothing
// changed, with one session appended and with the same session's lines appended to another file
// (a resumed transcript's history), and whole-process latencies of `search` (two-word
// queries) and `show` (the session with the most messages).
//
//   bun bench/archive.ts [--mb 1000] [--sessions 668] [--repeat 3] [--bin dist/sluice] [--compare before/sluice] [--corpus DIR] [--searches 100]
//
// Builds run in turn within each repeat: the machine's speed moves too much for runs made apart.

import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentCorpus, SAMPLES, variant } from "./agent-corpus";
import { quantile } from "./proc";
import { twoWordQueries } from "./queries";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "1000" },
    sessions: { type: "string", default: "668" },
    repeat: { type: "string", default: "3" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    corpus: { type: "string" },
    searches: { type: "string", default: "100" },
  },
});

async function timed(cmd: string[]): Promise<{ ms: number; out: string; peakRssMb: number; cpuS: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed: ${err.trim()}`);
  const usage = p.resourceUsage();
  return { ms: performance.now() - t0, out, peakRssMb: (usage?.maxRSS ?? 0) / 1e6, cpuS: Number(usage?.cpuTime.total ?? 0n) / 1e6 };
}

const dir = values.corpus ? resolve(values.corpus) : join(tmpdir(), `sluice-archive-bench-${process.pid}`);
if (values.corpus && existsSync(join(dir, "claude"))) console.log(`corpus: reusing ${dir}`);
else {
  const t0 = performance.now();
  const c = buildAgentCorpus(dir, Number(values.mb) * 1e6, Number(values.sessions));
  console.log(`corpus: ${c.files} session files, ${(c.bytes / 1e6).toFixed(0)} MB, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const builds = [values.bin!, ...(values.compare ? [values.compare] : [])];
const roots = ["--claude", join(dir, "claude"), "--codex", join(dir, "codex")];
const METRICS = ["full", "cpu_s", "peak_rss_mb", "unchanged", "append", "again", "db_mb", "logs_mb"] as const;
const runs = builds.map(() => Object.fromEntries(METRICS.map((k) => [k, [] as number[]])) as Record<(typeof METRICS)[number], number[]>);
const appended = readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"), "utf8").split("\n").filter(Boolean);
const med = (xs: number[]) => quantile(xs, 0.5);
/** Re-index runs per build and repeat, nothing changed and one session appended each. */
const INCREMENTS = 9;
const fileMb = (p: string) => (existsSync(p) ? statSync(p).size / 1e6 : 0);

/** Whole-process latencies of `search` (two words each, from the archive's own text) and `show`, on the archive build's database. */
async function latencies(bin: string, db: string) {
  const d = new Database(db, { readonly: true });
  if (!d.query("SELECT 1 FROM sqlite_schema WHERE name = 'messages'").get()) {
    d.close();
    console.log(`${bin}: no archive (a build before it): no search or show`);
    return;
  }
  const queries = twoWordQueries(d, Number(values.searches));
  // the session nearest 1,000 messages (the figure), and the one with the most
  const sized = (order: string) => d.query(`SELECT s.session_key AS k, count(*) AS n FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.parent_session IS NULL
    GROUP BY m.session_id ORDER BY ${order} LIMIT 1`).get() as { k: string; n: number };
  const shows = [sized("abs(count(*) - 1000)"), sized("count(*) DESC")];
  d.close();
  const search: number[] = [];
  for (const q of queries) {
    search.push((await timed([bin, "search", q, "--db", db, "--limit", "20"])).ms);
  }
  console.log(`${bin}: search, two words, ${search.length} queries: p50 ${quantile(search, 0.5).toFixed(1)} ms, p99 ${quantile(search, 0.99).toFixed(1)} ms (whole process)`);
  for (const s of shows) {
    const show: number[] = [];
    for (let i = 0; i < 20; i++) show.push((await timed([bin, "show", s.k, "--db", db])).ms);
    console.log(`show of ${s.k} (${s.n} messages), 20 runs: p50 ${quantile(show, 0.5).toFixed(1)} ms, max ${Math.max(...show).toFixed(1)} ms`);
  }
  const version: number[] = [];
  for (let i = 0; i < 20; i++) version.push((await timed([bin, "--version"])).ms);
  console.log(`(sluice --version, process start alone: p50 ${quantile(version, 0.5).toFixed(1)} ms)`);
}

try {
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const [b, bin] of builds.entries()) {
      const db = join(dir, `bench-${b}-${i}.db`);
      const m = runs[b]!;
      // a first index: never on a database an interrupted run of the benchmark left behind
      for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) rmSync(f, { force: true });
      const full = await timed([bin, "index", ...roots, "--db", db, "--json"]);
      const r = JSON.parse(full.out);
      m.full.push(full.ms);
      m.cpu_s.push(full.cpuS);
      m.peak_rss_mb.push(full.peakRssMb);
      m.logs_mb.push(r.bytes / 1e6);
      m.db_mb.push(fileMb(db) + fileMb(`${db}-wal`));
      // a re-index takes 60-120 ms: one sample moves with the machine's minute, so each is the
      // median of INCREMENTS runs (each append a new variant: the calls are new every time)
      // and the same lines once more, as a resumed or copied transcript carries calls the index has
      const unchanged: number[] = [], append: number[] = [], again: number[] = [];
      for (let k = 0; k < INCREMENTS; k++) {
        unchanged.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
        const lines = variant(appended, 9999, (i * builds.length + b) * INCREMENTS + k);
        appendFileSync(join(dir, "claude", "projects", "-work-p1", "00000001.jsonl"), lines);
        append.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
        appendFileSync(join(dir, "claude", "projects", "-work-p2", "00000002.jsonl"), lines);
        again.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
      }
      m.unchanged.push(med(unchanged));
      m.append.push(med(append));
      m.again.push(med(again));
      console.log(`run ${i + 1}, ${bin}: full ${(full.ms / 1000).toFixed(2)} s (${full.cpuS.toFixed(2)} s CPU, peak RSS ${full.peakRssMb.toFixed(0)} MB), ` +
        `database ${m.db_mb.at(-1)!.toFixed(0)} MB for ${m.logs_mb.at(-1)!.toFixed(0)} MB of logs`);
      // every build's, in the first repeat: --compare then gives both builds' search and show figures
      if (i === 0) await latencies(bin, db);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    }
  }
  for (const [b, bin] of builds.entries()) {
    const m = runs[b]!;
    console.log(`medians, ${bin}: full index ${med(m.full).toFixed(0)} ms (${med(m.cpu_s).toFixed(2)} s CPU, peak RSS ${med(m.peak_rss_mb).toFixed(0)} MB), ` +
      `unchanged ${med(m.unchanged).toFixed(0)} ms, one session appended ${med(m.append).toFixed(0)} ms (its calls once more, in another file: ${med(m.again).toFixed(0)} ms), ` +
      `database ${med(m.db_mb).toFixed(0)} MB = ${(med(m.db_mb) / med(m.logs_mb)).toFixed(2)}x the logs`);
  }
  if (builds.length === 2) console.log(`full index, ${builds[0]} / ${builds[1]}: ${(med(runs[0]!.full) / med(runs[1]!.full)).toFixed(2)}x the time`);
} finally {
  if (!values.corpus) rmSync(dir, { recursive: true, force: true });
}
