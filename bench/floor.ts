// The floor under the whole-process targets: minimal Bun programs that do only the work a command
// must do, built as build.ts builds sluice (bytecode, minified, ESM, the same run-time flags),
// timed in turn with the command itself. What is left between the two is sluice's own share:
// its modules, its checks, its output. Each command runs once more with BUN_JSC_useJIT=0 in its
// environment, for the JIT's share of a short process (a setting sluice cannot make for itself:
// a compiled executable has no way to carry JSC options, and Bun calls the variables unstable).
//
//   bun bench/floor.ts [--corpus DIR] [--bin dist/sluice] [--repeat 60]
//
// Rows:
//   start       a program that prints one line            against `sluice --version`
//   search      the steps of archive/search.ts: the newest against `sluice search Q --limit 20`
//               2,001 matches, bm25 over them, the time of the rows tied at the cut, the final
//               rows with their snippets; a different two-word query each repeat, the same for both
//   unchanged   the walk (readdir, a stat per .jsonl), the  against `sluice index --json` with
//               known files' rows, the comparison          nothing changed
//   statusline, report blocks --json: sluice alone, with and without the JIT (their work is too
//               much SQL and pricing to copy into a program of a few lines)
//
// --corpus DIR: DIR/claude and DIR/codex (bench/agent-corpus.ts, as bench/archive.ts leaves it),
// indexed once by --bin into a scratch database; without it, the samples.

import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SAMPLES } from "./agent-corpus";
import { quantile } from "./proc";
import { statusJson, twoWordQueries } from "./queries";

const { values } = parseArgs({
  options: {
    corpus: { type: "string" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
    repeat: { type: "string", default: "60" },
  },
});

/** The minimal programs, each the least a command's work can be in Bun. */
const PROGRAMS: Record<string, string> = {
  start: `console.log("sluice");`,
  search: `
import { Database } from "bun:sqlite";
const [q, path] = process.argv.slice(2);
const db = new Database(path, { readonly: true });
const newest = db.query("SELECT rowid AS id FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT 2001").all(q);
let out = "no matches";
if (newest.length) {
  const floor = newest[Math.min(newest.length, 2000) - 1].id;
  let best = [];
  for (const r of db.query("SELECT rowid AS id, bm25(messages_fts) AS rank FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid >= ?2 ORDER BY rank").iterate(q, floor)) {
    if (best.length >= 20 && r.rank !== best[best.length - 1].rank) break;
    best.push(r);
  }
  if (best.length > 20) {
    const last = best[19].rank, sure = best.filter((b) => b.rank < last), tied = best.filter((b) => b.rank === last);
    const at = new Map(db.query("SELECT id, at FROM messages WHERE id IN (SELECT value FROM json_each(?1))").all(JSON.stringify(tied.map((b) => b.id))).map((r) => [r.id, r.at ?? ""]));
    tied.sort((a, b) => (at.get(a.id) < at.get(b.id) ? 1 : at.get(a.id) > at.get(b.id) ? -1 : 0));
    best = [...sure, ...tied.slice(0, 20 - sure.length)];
  }
  const rows = db.query("SELECT m.at, s.session_key AS session, snippet(messages_fts, 0, '[', ']', '…', 16) AS snippet FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id WHERE messages_fts MATCH ?1 AND messages_fts.rowid IN (SELECT value FROM json_each(?2))").all(q, JSON.stringify(best.map((b) => b.id)));
  out = rows.map((r) => r.at + " " + r.session + "\\n  " + r.snippet).join("\\n");
  if (process.env.FLOOR_CHECK) out = JSON.stringify(rows.map((r) => r.session).sort());
}
console.log(out);`,
  unchanged: `
import { Database } from "bun:sqlite";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
const [path, ...roots] = process.argv.slice(2);
const found = [];
function list(dir) {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) list(p);
    else if (e.name.endsWith(".jsonl")) { const s = statSync(p); found.push([p, s.size, s.mtimeMs]); }
  }
}
for (const r of roots) list(r);
const db = new Database(path, { readonly: true });
const known = new Map(db.query("SELECT path, size, mtime_ms FROM agent_files").all().map((r) => [r.path, r]));
let unchanged = 0;
for (const [p, size, mtime] of found) { const r = known.get(p); if (r && r.size === size && r.mtime_ms === mtime) unchanged++; }
console.log(JSON.stringify({ files: found.length, unchanged }));`,
};

async function buildPrograms(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(PROGRAMS)) {
    const entry = join(dir, `${name}.js`);
    writeFileSync(entry, source);
    const result = await Bun.build({
      entrypoints: [entry], minify: true, bytecode: true, format: "esm",
      compile: { outfile: join(dir, name), autoloadDotenv: false, autoloadBunfig: false, execArgv: ["--disallow-code-generation-from-strings=strict"] },
    });
    if (!result.success) throw new Error(`the ${name} program did not build: ${result.logs.join("; ")}`);
    out[name] = join(dir, name);
  }
  return out;
}

/** The programs give the command's answers: the same search hits (by session), the same counts of files. */
type Paired = { floor: string[]; sluice: string[] };
function sameAnswers(search: Paired, unchanged: Paired) {
  const out = (cmd: string[], env: Record<string, string> = {}) => Bun.spawnSync(cmd, { env: { ...process.env, ...env } }).stdout.toString();
  const hits = JSON.parse(out([...search.sluice, "--json"])).results.map((r: { session: string }) => r.session).sort();
  const floorHits = out(search.floor, { FLOOR_CHECK: "1" }).trim();
  if (hits.length && JSON.stringify(hits) !== floorHits) throw new Error(`the search program's hits differ from sluice's: ${floorHits} against ${JSON.stringify(hits)}`);
  const s = JSON.parse(out(unchanged.sluice)), f = JSON.parse(out(unchanged.floor));
  if (s.files !== f.files || s.unchanged !== f.unchanged) throw new Error(`the unchanged program counts ${JSON.stringify(f)}, sluice ${s.files} files, ${s.unchanged} unchanged`);
}

function run(cmd: string[], env: Record<string, string> = {}, stdin?: string): number {
  const t0 = performance.now();
  const p = Bun.spawnSync(cmd, { stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...env } });
  const ms = performance.now() - t0;
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${p.stderr.toString().trim()}`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), "sluice-floor-bench-"));
try {
  const bin = resolve(values.bin!);
  const corpus = values.corpus ? resolve(values.corpus) : null;
  const claude = corpus ? join(corpus, "claude") : join(SAMPLES, "claude");
  const codex = corpus ? join(corpus, "codex") : join(SAMPLES, "codex");
  // as discover.ts's agentRoots reads --claude and --codex
  const roots = [existsSync(join(claude, "projects")) ? join(claude, "projects") : claude, existsSync(join(codex, "sessions")) ? join(codex, "sessions") : codex];
  const db = join(dir, "index.db");
  run([bin, "index", "--claude", claude, "--codex", codex, "--db", db]);
  const programs = await buildPrograms(dir);
  const repeat = Number(values.repeat);
  const d = new Database(db, { readonly: true });
  const queries = twoWordQueries(d, repeat);
  const status = statusJson(d);
  d.close();
  const rows: Record<string, (i: number) => { floor?: string[]; sluice: string[]; stdin?: string }> = {
    start: () => ({ floor: [programs.start!], sluice: [bin, "--version"] }),
    search: (i) => ({ floor: [programs.search!, queries[i]!, db], sluice: [bin, "search", queries[i]!, "--db", db, "--limit", "20"] }),
    unchanged: () => ({ floor: [programs.unchanged!, db, ...roots], sluice: [bin, "index", "--claude", claude, "--codex", codex, "--db", db, "--json"] }),
    statusline: () => ({ sluice: [bin, "statusline", "--db", db], stdin: status }),
    blocks: () => ({ sluice: [bin, "report", "blocks", "--json", "--db", db] }),
  };
  sameAnswers(rows.search!(0) as Paired, rows.unchanged!(0) as Paired);
  console.log(`${corpus ?? "the samples"}; ${repeat} repeats, the three runs of each row in turn`);
  for (const [name, cmds] of Object.entries(rows)) {
    const floor: number[] = [], sluice: number[] = [], noJit: number[] = [];
    for (let i = -2; i < repeat; i++) {
      const c = cmds(Math.max(i, 0));
      const f = c.floor ? run(c.floor) : NaN, s = run(c.sluice, {}, c.stdin), n = run(c.sluice, { BUN_JSC_useJIT: "0" }, c.stdin);
      if (i < 0) continue; // the first two warm the page cache
      floor.push(f), sluice.push(s), noJit.push(n);
    }
    const fig = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms`;
    const share = Number.isNaN(floor[0]!) ? "" : ` | sluice's own share at p50: ${(quantile(sluice, 0.5) - quantile(floor, 0.5)).toFixed(1)} ms`;
    console.log(`${name.padEnd(10)} floor ${share ? fig(floor) : "(none)"} | sluice ${fig(sluice)} | sluice with BUN_JSC_useJIT=0 ${fig(noJit)}${share}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
