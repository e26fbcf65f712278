// `sluice serve` on the index of a ~1 GB agent corpus: every page, every /api/ answer and /metrics
// requested in turn, --rounds times (1,000 by default), one request at a time as a browser tab
// and a Prometheus scrape would; prints each URL's first (cold) answer, its p50 and p99, and the
// server's peak RSS (VmRSS read after every round). Answers are cached until the database changes,
// so the cold column is what a page costs after every commit of a busy index.
//
//   bun bench/serve.ts [--rounds 1000] [--corpus DIR] [--db FILE] [--bin dist/sluice]
//
// The corpus is built once (bench/agent-corpus.ts) and kept in --corpus; the index is built into
// --db when that file does not exist yet.

import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentCorpus } from "./agent-corpus";
import { quantile, rssKb } from "./proc";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "1000" },
    corpus: { type: "string", default: join(tmpdir(), "sluice-bench-agent-corpus") },
    db: { type: "string" },
    bin: { type: "string", default: resolve(import.meta.dir, "..", "dist", "sluice") },
  },
});

const URLS = [
  "/", "/?days=90", "/sessions", "/models", "/tools", "/health",
  "/api/report/daily", "/api/report/weekly", "/api/report/monthly", "/api/report/session", "/api/report/models", "/api/report/blocks", "/api/report/blocks?active=1",
  "/api/stats", "/api/status", "/api/latency", "/api/tools", "/metrics",
];

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
  const server = Bun.spawn([values.bin!, "serve", "--db", db, "--port", "0"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  let base = "", err = "";
  const reader = (server.stderr as ReadableStream<Uint8Array>).getReader();
  while (!base) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${err}`);
    err += new TextDecoder().decode(value);
    base = err.match(/on (http:\/\/\S+?)\/[ \n]/)?.[1] ?? "";
  }
  const times = new Map<string, number[]>(URLS.map((u) => [u, []]));
  const cold = new Map<string, number>();
  let peakKb = 0;
  const rounds = Number(values.rounds);
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const u of URLS) {
      const t = performance.now();
      const res = await fetch(base + u);
      await res.arrayBuffer();
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`${u}: ${res.status}`);
      if (r === 0) cold.set(u, ms);
      else times.get(u)!.push(ms);
    }
    peakKb = Math.max(peakKb, rssKb(server.pid!));
  }
  const total = (performance.now() - t0) / 1000;
  server.kill("SIGTERM");
  await server.exited;
  console.log(`${rounds} rounds of ${URLS.length} URLs (${rounds * URLS.length} requests) in ${total.toFixed(1)} s; server peak RSS ${(peakKb / 1024).toFixed(1)} MB`);
  console.log(`${"url".padEnd(30)} ${"cold ms".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
  const all: number[] = [];
  for (const u of URLS) {
    const xs = times.get(u)!;
    all.push(...xs);
    console.log(`${u.padEnd(30)} ${cold.get(u)!.toFixed(1).padStart(8)} ${quantile(xs, 0.5).toFixed(2).padStart(8)} ${quantile(xs, 0.99).toFixed(2).padStart(8)}`);
  }
  console.log(`${"all".padEnd(30)} ${Math.max(...cold.values()).toFixed(1).padStart(8)} ${quantile(all, 0.5).toFixed(2).padStart(8)} ${quantile(all, 0.99).toFixed(2).padStart(8)}`);
}

await main();
