// The deep-index benchmark: a corpus shaped like a heavy user's (668 Claude Code and Codex sessions
// with subagents, files from 1 KB to 50 MB, about 1 GB by default), built from the real samples
// with their ids made unique, then timed: a full index, its write phase, a re-index with nothing
// changed, one session appended, and `report daily --json`; ccusage's `daily --json` on the same
// corpus when --ccusage names its binary.
//
//   bun bench/index.ts [--mb 1000] [--sessions 668] [--repeat 3] [--bin dist/sluice] [--ccusage path] [--corpus DIR]
//
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
    ccusage: { type: "string" },
    keep: { type: "boolean", default: false },
    corpus: { type: "string" },
  },
});

async function timed(cmd: string[], env: Record<string, string> = {}): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed: ${err.trim()}`);
  return { ms: performance.now() - t0, out };
}

const dir = values.corpus ? resolve(values.corpus) : join(tmpdir(), `sluice-index-bench-${process.pid}`);
const t0 = performance.now();
if (values.corpus && existsSync(join(dir, "claude"))) console.log(`corpus: reusing ${dir}`);
else {
  const corpus = buildAgentCorpus(dir, Number(values.mb) * 1e6, Number(values.sessions));
  console.log(`corpus: ${corpus.files} session files, ${(corpus.bytes / 1e6).toFixed(0)} MB, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const bin = values.bin!;
const roots = ["--claude", join(dir, "claude"), "--codex", join(dir, "codex")];
const runs: Record<string, number[]> = { full: [], write: [], unchanged: [], append: [], report: [], ccusage: [] };
try {
  for (let i = 0; i < Number(values.repeat); i++) {
    const db = join(dir, `bench-${i}.db`);
    const full = await timed([bin, "index", ...roots, "--db", db, "--json"]);
    const r = JSON.parse(full.out);
    runs.full!.push(full.ms);
    runs.write!.push(r.write_ms);
    runs.unchanged!.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
    const one = join(dir, "claude", "projects", "-work-p1", "00000001.jsonl");
    appendFileSync(one, variant(readFileSync(join(SAMPLES, "claude", "projects", "-Users-dain-workspace-claude-code-log-sample", "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"), "utf8").split("\n").filter(Boolean), 9999, i));
    runs.append!.push((await timed([bin, "index", ...roots, "--db", db, "--json"])).ms);
    runs.report!.push((await timed([bin, "report", "daily", "--json", "--db", db])).ms);
    if (values.ccusage) runs.ccusage!.push((await timed([values.ccusage, "daily", "--json", "--offline"], { CLAUDE_CONFIG_DIR: join(dir, "claude"), CODEX_HOME: join(dir, "codex"), HOME: dir })).ms);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    console.log(`run ${i + 1}: full ${(full.ms / 1000).toFixed(2)} s (${r.lines.toLocaleString("en-US")} lines, ${r.turns.toLocaleString("en-US")} turns, writes ${r.write_ms} ms)`);
  }
  const med = (k: string) => (runs[k]!.length ? `${quantile(runs[k]!, 0.5).toFixed(0)} ms` : "n/a");
  console.log(`medians: full index ${med("full")} (target 3000), write phase ${med("write")} (target 200), unchanged ${med("unchanged")} (target 100), one session appended ${med("append")} (target 50), report daily --json ${med("report")} (target 100), ccusage daily --json ${med("ccusage")}`);
  console.log(`(times of whole processes: each includes about 20 ms of process start)`);
} finally {
  if (!values.keep && !values.corpus) rmSync(dir, { recursive: true, force: true });
}
