// The push benchmark, against a local PostgreSQL (a temporary cluster, test/postgres.ts): the deep
// index of the benchmark corpus (bench/agent-corpus.ts, about 1 GB by default: ~100,000 calls and
// ~260,000 tool uses) pushed whole into an empty store, then pushed incrementally after one session
// grew. Whole processes are timed (start, connection, schema check, the push); medians.
//
//   bun bench/push.ts [--mb 1000] [--sessions 668] [--repeat 3] [--bin dist/sluice] [--compare other/sluice] [--corpus DIR]
//
// --compare times a second build in turn with the first. --corpus keeps the corpus and its index
// in DIR for the next run (the index grows by the appended sessions). Then the team reports on a
// store of 10 devices' worth of the corpus (report daily --from: the target is 200 ms).

import { appendFileSync, copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PG_PASSWORD, TestPostgres } from "../test/postgres";
import { buildAgentCorpus, SAMPLES, variant } from "./agent-corpus";
import { quantile } from "./proc";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "1000" },
    sessions: { type: "string", default: "668" },
    repeat: { type: "string", default: "3" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    compare: { type: "string" },
    corpus: { type: "string" },
  },
});

async function timed(cmd: string[]): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, PGPASSWORD: PG_PASSWORD } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed: ${err.trim()}`);
  return { ms: performance.now() - t0, out };
}

const dir = values.corpus ? resolve(values.corpus) : join(tmpdir(), `sluice-push-bench-${process.pid}`);
const roots = ["--claude", join(dir, "claude"), "--codex", join(dir, "codex")];
const builds = [values.bin!, ...(values.compare ? [values.compare] : [])];
const METRICS = ["first", "incremental", "unchanged", "start"] as const;
const runs = builds.map(() => Object.fromEntries(METRICS.map((k) => [k, [] as number[]])) as Record<(typeof METRICS)[number], number[]>);
const appended = readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"), "utf8").split("\n").filter(Boolean);
const pg = await new TestPostgres().init();

/**
 * Reports on a team store of 10 devices' worth of the corpus (copies of its index, each pushed as
 * a device of its own): `report daily --from` (the target: 200 ms), weekly, and one device's
 * session report, as whole processes; the first build only (an older one may have no --from).
 */
async function teamReports(db: string) {
  const url = await pg.createDatabase("bench_team");
  for (let d = 0; d < 10; d++) {
    const copy = join(dir, `device-${d}.db`);
    copyFileSync(db, copy);
    await timed([builds[0]!, "push", url, "--db", copy, "--new-device", "--device", `d${d}`, "--user", `u${d % 3}`]);
    rmSync(copy, { force: true });
  }
  const reports: Record<string, string[]> = {
    "report daily --from (10 devices)": ["daily"], "report weekly --from --by device": ["weekly", "--by", "device"], "report session --from --device d0": ["session", "--device", "d0"],
  };
  for (const [name, args] of Object.entries(reports)) {
    const ms: number[] = [];
    for (let i = 0; i <= 20; i++) {
      const t = (await timed([builds[0]!, "report", ...args, "--from", url, "--json"])).ms;
      if (i) ms.push(t); // the first warms the server's cache
    }
    console.log(`${name}: median ${quantile(ms, 0.5).toFixed(0)} ms, p90 ${quantile(ms, 0.9).toFixed(0)} ms (20 runs)`);
  }
}
try {
  if (existsSync(join(dir, "claude"))) console.log(`corpus: reusing ${dir}`);
  else {
    const t0 = performance.now();
    const corpus = buildAgentCorpus(dir, Number(values.mb) * 1e6, Number(values.sessions));
    console.log(`corpus: ${corpus.files} session files, ${(corpus.bytes / 1e6).toFixed(0)} MB, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const db = join(dir, "push-bench.db");
  const indexed = JSON.parse((await timed([builds[0]!, "index", ...roots, "--db", db, "--json"])).out);
  console.log(`index: ${indexed.turns.toLocaleString("en-US")} calls in ${indexed.sessions} sessions`);
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const [b, bin] of builds.entries()) {
      const m = runs[b]!;
      const url = await pg.createDatabase(`bench_${b}_${i}`);
      const first = await timed([bin, "push", url, "--db", db, "--json"]);
      const r = JSON.parse(first.out);
      m.first.push(first.ms);
      // one session grows by one copy of a sample transcript (its ids new, also in a corpus kept
      // from an earlier run), indexed, then pushed
      appendFileSync(join(dir, "claude", "projects", "-work-p1", "00000001.jsonl"), variant(appended, 8888, Date.now() * 10 + i * builds.length + b));
      await timed([bin, "index", ...roots, "--db", db]);
      const inc = await timed([bin, "push", url, "--db", db, "--json"]);
      m.incremental.push(inc.ms);
      m.unchanged.push((await timed([bin, "push", url, "--db", db])).ms);
      m.start.push((await timed([bin, "--version"])).ms);
      const ri = JSON.parse(inc.out);
      console.log(
        `run ${i + 1}, ${bin}: first push ${(first.ms / 1000).toFixed(2)} s (${r.rows.toLocaleString("en-US")} rows: ${r.tables.turns.rows.toLocaleString("en-US")} calls, ` +
          `${r.tables.invocations.rows.toLocaleString("en-US")} tool uses; ${r.ms} ms inside), incremental ${inc.ms.toFixed(0)} ms ` +
          `(${ri.rows} rows: ${ri.tables.turns.rows} calls, ${ri.tables.invocations.rows} tool uses; ${ri.ms} ms inside)`,
      );
    }
  }
  const med = (xs: number[]) => quantile(xs, 0.5);
  for (const [b, bin] of builds.entries()) {
    const m = runs[b]!;
    console.log(
      `medians, ${bin}: first push ${med(m.first).toFixed(0)} ms (target 10000), incremental push after one session grew ${med(m.incremental).toFixed(0)} ms ` +
        `(target 150), a push with nothing new ${med(m.unchanged).toFixed(0)} ms; 'sluice --version' ${med(m.start).toFixed(0)} ms`,
    );
  }
  if (builds.length === 2) console.log(`first push, ${builds[1]} / ${builds[0]}: ${(med(runs[1]!.first) / med(runs[0]!.first)).toFixed(2)}x the time`);
  await teamReports(db);
  console.log("(times of whole processes, from spawn to exit)");
} finally {
  pg.destroy();
  if (!values.corpus) rmSync(dir, { recursive: true, force: true });
}
