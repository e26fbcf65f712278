// The deep-index benchmark: a corpus shaped like a heavy user's (668 Claude Code and Codex sessions
// with subagents, files from 1 KB to 50 MB, about 1 GB by default), built from the real samples
// with their ids made unique, then timed: a full index, its write phase, a re-index with nothing
// changed, one session appended, and `report daily --json`; ccusage's `daily --json` on the same
// corpus when --ccusage names its binary.
//
//   bun bench/index.ts [--mb 1000] [--sessions 668] [--repeat 3] [--bin dist/sluice] [--ccusage path] [--corpus DIR]
//
// --corpus keeps the corpus in DIR and reuses it on the next run (it is appended to by each run).

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "./generate";
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
const SAMPLES = resolve(import.meta.dir, "..", "..", "shared", "samples");

function* walk(d: string): Generator<string> {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".jsonl") && statSync(p).size > 2000) yield p;
  }
}

/** A sample's lines with every id made unique to copy `k` of session `s`. */
function variant(lines: string[], s: number, k: number): string {
  const tag = `-${s}-${k}`;
  return lines.map((l) => l.replace(/"(msg_[A-Za-z0-9]+|req_[A-Za-z0-9]+|toolu_[A-Za-z0-9]+|call_[A-Za-z0-9]+)"/g, `"$1${tag}"`)).join("\n") + "\n";
}

function buildCorpus(dir: string, totalBytes: number, sessions: number): { files: number; bytes: number } {
  const claude = [...walk(join(SAMPLES, "claude", "projects"))].map((p) => readFileSync(p, "utf8").split("\n").filter(Boolean));
  const codex = [...walk(join(SAMPLES, "codex"))].map((p) => readFileSync(p, "utf8").split("\n").filter(Boolean));
  const rng = new Rng(7);
  // sizes from 1 KB to 50 MB, log-uniform, scaled to the total
  const raw = Array.from({ length: sessions }, () => Math.exp(Math.log(1e3) + rng.next() * (Math.log(50e6) - Math.log(1e3))));
  const scale = totalBytes / raw.reduce((a, b) => a + b, 0);
  let bytes = 0, files = 0;
  for (let s = 0; s < sessions; s++) {
    const want = Math.min(50e6, Math.max(1e3, raw[s]! * scale));
    const isCodex = s % 5 === 4;
    const pool = isCodex ? codex : claude;
    const src = pool[s % pool.length]!;
    const path = isCodex
      ? join(dir, "codex", "sessions", "2026", "02", String(1 + (s % 28)).padStart(2, "0"), `rollout-2026-02-01T00-00-00-${String(s).padStart(8, "0")}.jsonl`)
      : s % 7 === 3
        ? join(dir, "claude", "projects", `-work-p${s % 40}`, `${String(s - 1).padStart(8, "0")}`, "subagents", `agent-a${s}.jsonl`)
        : join(dir, "claude", "projects", `-work-p${s % 40}`, `${String(s).padStart(8, "0")}.jsonl`);
    mkdirSync(join(path, ".."), { recursive: true });
    let size = 0, k = 0, text = "";
    while (size < want) {
      const chunk = variant(src, s, k++);
      text += chunk;
      size += chunk.length;
      if (text.length > 8e6) {
        appendFileSync(path, text);
        text = "";
      }
    }
    appendFileSync(path, text);
    bytes += size;
    files++;
  }
  return { files, bytes };
}

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
  const corpus = buildCorpus(dir, Number(values.mb) * 1e6, Number(values.sessions));
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
    rmSync(db, { force: true });
    console.log(`run ${i + 1}: full ${(full.ms / 1000).toFixed(2)} s (${r.lines.toLocaleString("en-US")} lines, ${r.turns.toLocaleString("en-US")} turns, writes ${r.write_ms} ms)`);
  }
  const med = (k: string) => (runs[k]!.length ? `${quantile(runs[k]!, 0.5).toFixed(0)} ms` : "n/a");
  console.log(`medians: full index ${med("full")} (target 3000), write phase ${med("write")} (target 200), unchanged ${med("unchanged")} (target 100), one session appended ${med("append")} (target 50), report daily --json ${med("report")} (target 100), ccusage daily --json ${med("ccusage")}`);
  console.log(`(times of whole processes: each includes about 20 ms of process start)`);
} finally {
  if (!values.keep && !values.corpus) rmSync(dir, { recursive: true, force: true });
}
