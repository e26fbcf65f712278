// Four readers, each its own process and connection, query for 60 s while the live ingester
// commits 2,000 lines a second: none sees an error (SQLITE_BUSY included) and no query waits over 1 s.

import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile, LineTaker } from "../bench/generate";
import { one, RUNNERS, start, tempDir, waitFor } from "./helpers";

const tmp = tempDir("sluice-readers-");
afterAll(() => tmp.cleanup());
const SECONDS = Number(process.env.SLUICE_READERS_SECONDS ?? 60);

const READER = `
import { Database } from "bun:sqlite";
const [db, secs, kind] = process.argv.slice(2);
const d = new Database(db, { readonly: true });
d.run("PRAGMA busy_timeout = 5000");
const queries = [
  "SELECT count(*) AS n FROM sse_rows",
  "SELECT sid, count(*) AS n FROM sse_rows GROUP BY sid ORDER BY n DESC LIMIT 5",
  "SELECT r.id, r.sid, x.raw ->> '$.event' AS e FROM sse_rows r JOIN sse_raw x ON x.id = r.id ORDER BY r.id DESC LIMIT 50",
  "SELECT committed_offset, lines FROM sources WHERE state = 'active'",
];
let n = 0, errors = [], worst = 0;
const until = performance.now() + Number(secs) * 1000;
while (performance.now() < until) {
  const q = queries[(n + Number(kind)) % queries.length];
  const t0 = performance.now();
  try { d.query(q).all(); } catch (e) { errors.push(String(e.message)); }
  worst = Math.max(worst, performance.now() - t0);
  n++;
  await Bun.sleep(5);
}
console.log(JSON.stringify({ n, errors: errors.slice(0, 5), errorCount: errors.length, worstMs: worst }));
`;

test(`four readers for ${SECONDS} s beside the live ingester: no error, no query over 1 s`, async () => {
  const file = join(tmp.dir, "capture.jsonl"), db = join(tmp.dir, "live.db"), reader = join(tmp.dir, "reader.ts");
  writeFileSync(reader, READER);
  generateFile(file, { lines: 50_000, seed: 61 });
  const s = start(RUNNERS[1]!.cmd, ["ingest", file, "--follow", "--db", db, "--poll-ms", "100"]);
  try {
    await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live", 60_000);
    const readers = [0, 1, 2, 3].map((k) => Bun.spawn([process.execPath, reader, db, String(SECONDS), String(k)], { stdout: "pipe", stderr: "pipe" }));
    const lines = new LineTaker(generate({ lines: SECONDS * 2000 + 1000, seed: 62 }, 1 << 16));
    const fd = openSync(file, "a");
    const t0 = performance.now();
    let written = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * 2000) - written;
      if (due > 0) {
        writeSync(fd, lines.take(due));
        written += due;
      }
      await Bun.sleep(10);
    }
    closeSync(fd);
    const results = await Promise.all(readers.map(async (p) => {
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`a reader failed: ${err}`);
      return JSON.parse(out);
    }));
    for (const r of results) {
      if (r.errors.length) console.log(r.errors);
      expect(r.errors).toEqual([]);
      expect(r.worstMs).toBeLessThan(1000);
      expect(r.n).toBeGreaterThan(SECONDS * 10);
    }
    console.log(`readers: ${results.map((r) => `${r.n} queries, worst ${r.worstMs.toFixed(0)} ms`).join("; ")}; ${written.toLocaleString("en-US")} lines appended`);
    await waitFor("the appends committed", () => one(db, "SELECT sum(lines) AS n FROM sources").n === 50_000 + written, 30_000);
  } finally {
    s.proc.kill("SIGTERM");
    await s.exited;
  }
}, SECONDS * 1000 + 120_000);
