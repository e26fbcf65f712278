// `sluice serve` on the index of a ~1 GB agent corpus: every page, every /api/ answer and /metrics
// requested in turn, --rounds times (1,000 by default), one request at a time as a browser tab
// and a Prometheus scrape would; prints each URL's first (cold) answer, its p50 and p99, and the
// server's peak RSS (VmRSS read after every round). Answers are cached until the database changes,
// so the cold column is what a page costs after every commit of a busy index.
//
// --cold N then measures that cost N times: each round commits a change to the database (a row of
// a table of the bench's own, bench_tick: so --cold writes to --db), waits for the server to see it
// (it polls every 250 ms) and requests every URL once, each answer then built afresh.
//
//   bun bench/serve.ts [--rounds 1000] [--cold 0] [--corpus DIR] [--db FILE] [--bin dist/sluice]
//
// The corpus is built once (bench/agent-corpus.ts) and kept in --corpus; the index is built into
// --db when that file does not exist yet.

import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentCorpus } from "./agent-corpus";
import { quantile, rssKb } from "./proc";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "1000" },
    cold: { type: "string", default: "0" },
    corpus: { type: "string", default: join(tmpdir(), "sluice-bench-agent-corpus") },
    db: { type: "string" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
  },
});

const URLS = [
  "/", "/?days=90", "/sessions", "/models", "/tools", "/health",
  "/api/report/daily", "/api/report/weekly", "/api/report/monthly", "/api/report/session", "/api/report/models", "/api/report/blocks", "/api/report/blocks?active=1",
  "/api/stats", "/api/status", "/api/latency", "/api/tools", "/metrics",
  // search: a word in most sessions, and a phrase; the longest session's conversation, first and last page
  "/search?q=error", "/api/search?q=error&limit=50", "/api/search?q=%22apply%20patch%22",
  "/sessions/LONGEST", "/sessions/LONGEST?page=199", "/api/sessions/LONGEST?limit=1000",
];

/** The session with the most messages, by its key (the conversation URLs name it). */
function longest(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    const r = d.query("SELECT s.session_key AS k FROM sessions s WHERE s.id = (SELECT session_id FROM messages GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)").get() as { k: string } | null;
    return encodeURIComponent(r?.k ?? "none");
  } finally {
    d.close();
  }
}

/** A commit the server sees as a new version of the database: a row of the bench's own table. */
function ticker(db: string): () => void {
  const d = new Database(db);
  d.run("CREATE TABLE IF NOT EXISTS bench_tick (n INTEGER)");
  return () => d.run("INSERT INTO bench_tick VALUES (1)");
}

const pad = (x: number, w = 8, digits = 2) => x.toFixed(digits).padStart(w);

/** Each URL once after each of n commits: the answers the server builds afresh after a commit. */
async function coldRounds(base: string, urls: string[], tick: () => void, n: number) {
  const times = new Map<string, number[]>(urls.map((u) => [u, []]));
  for (let r = 0; r < n; r++) {
    tick();
    await Bun.sleep(400);
    for (const u of urls) {
      const t = performance.now();
      const res = await fetch(base + u);
      await res.arrayBuffer();
      times.get(u)!.push(performance.now() - t);
    }
  }
  console.log(`\nafter each of ${n} commits, each URL once (built afresh):`);
  console.log(`${"url".padEnd(40)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}`);
  for (const u of urls) {
    const xs = times.get(u)!;
    console.log(`${u.padEnd(40)} ${pad(quantile(xs, 0.5))} ${pad(quantile(xs, 0.99))} ${pad(Math.max(...xs))}`);
  }
  const all = [...times.values()].flat();
  console.log(`${"all".padEnd(40)} ${pad(quantile(all, 0.5))} ${pad(quantile(all, 0.99))} ${pad(Math.max(...all))}`);
}

async function indexed(): Promise<string> {
  const db = values.db ?? join(mkdtempSync(join(tmpdir(), "sluice-bench-serve-")), "corpus.db");
  if (existsSync(db)) return db;
  const dir = values.corpus!;
  if (!existsSync(join(dir, "done"))) {
    const made = buildAgentCorpus(dir, 1 << 30, 600);
    console.log(`built the corpus in ${dir}: ${made.files} files, ${(made.bytes / 1e9).toFixed(2)} GB`);
    writeFileSync(join(dir, "done"), "");
  }
  const t0 = performance.now();
  const p = Bun.spawnSync([values.bin!, "index", "--claude", join(dir, "claude"), "--codex", join(dir, "codex"), "--db", db], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  console.log(`indexed ${dir} into ${db} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return db;
}

async function main() {
  const db = await indexed();
  const cold = Number(values.cold);
  const tick = cold > 0 ? ticker(db) : () => {};
  const long = longest(db);
  const urls = URLS.map((u) => u.replace("LONGEST", long));
  const server = Bun.spawn([values.bin!, "serve", "--db", db, "--port", "0"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  let base = "", err = "";
  const reader = (server.stderr as ReadableStream<Uint8Array>).getReader();
  while (!base) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${err}`);
    err += new TextDecoder().decode(value);
    base = err.match(/on (http:\/\/\S+?)\/[ \n]/)?.[1] ?? "";
  }
  const times = new Map<string, number[]>(urls.map((u) => [u, []]));
  const first = new Map<string, number>();
  let peakKb = 0;
  const rounds = Number(values.rounds);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const u of [...urls]) {
      const t = performance.now();
      const res = await fetch(base + u);
      await res.arrayBuffer();
      const ms = performance.now() - t;
      if (r === 0 && res.status === 404 && !URLS.slice(0, 18).includes(u)) {
        // an earlier build (--bin) without search or the conversation view: left out of its run
        console.log(`${u}: not served by ${values.bin}, left out`);
        urls.splice(urls.indexOf(u), 1);
        times.delete(u);
        continue;
      }
      if (res.status !== 200) throw new Error(`${u}: ${res.status}`);
      if (r === 0) first.set(u, ms);
      else times.get(u)!.push(ms);
    }
    peakKb = Math.max(peakKb, rssKb(server.pid!));
  }
  const total = (performance.now() - t0) / 1000;
  console.log(`${rounds} rounds of ${urls.length} URLs (${rounds * urls.length} requests) in ${total.toFixed(1)} s; server peak RSS ${(peakKb / 1024).toFixed(1)} MB`);
  console.log(`${"url".padEnd(40)} ${"first ms".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
  const all: number[] = [];
  for (const u of urls) {
    const xs = times.get(u)!;
    all.push(...xs);
    console.log(`${u.padEnd(40)} ${pad(first.get(u)!, 8, 1)} ${pad(quantile(xs, 0.5))} ${pad(quantile(xs, 0.99))}`);
  }
  console.log(`${"all".padEnd(40)} ${pad(Math.max(...first.values()), 8, 1)} ${pad(quantile(all, 0.5))} ${pad(quantile(all, 0.99))}`);
  if (cold > 0) {
    await coldRounds(base, urls, tick, cold);
    console.log(`server peak RSS ${(Math.max(peakKb, rssKb(server.pid!)) / 1024).toFixed(1)} MB`);
  }
  server.kill("SIGTERM");
  await server.exited;
}

await main();
