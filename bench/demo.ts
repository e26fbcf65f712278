// The README's first command ends here: generate a sample capture, ingest it with the compiled
// binary, and run a few of the README's example queries on the result.
//
//   bun run demo            (after `bun install`; builds dist/sluice first)

import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { generateFile } from "./generate";

const dir = join(import.meta.dir, "..", ".bench");
mkdirSync(dir, { recursive: true });
const sample = join(dir, "sample_sse_lines.jsonl");
const db = join(dir, "sample.db");
if (!existsSync(sample)) {
  const bytes = generateFile(sample, { lines: 300_000, seed: 1 });
  console.error(`generated ${sample} (${(bytes / 1e6).toFixed(0)} MB, 300,000 lines)`);
}
const bin = join(import.meta.dir, "..", "dist", "sluice");
const p = Bun.spawnSync([bin, "ingest", sample, "--db", db], { stdout: "inherit", stderr: "inherit" });
if (p.exitCode !== 0) process.exit(p.exitCode ?? 1);

const d = new Database(db, { readonly: true });
const show = (title: string, sql: string) => {
  console.log(`\n-- ${title}\n${sql}`);
  console.table(d.query(sql).all());
};
show("lines per agent", "SELECT source, count(*) AS lines, count(DISTINCT sid) AS sessions FROM sse_lines GROUP BY source");
show(
  "the five longest model calls",
  "SELECT flow_id, source, min(t) AS started, max(t) AS ended, count(*) AS lines FROM sse_rows WHERE flow_id IS NOT NULL GROUP BY flow_id ORDER BY julianday(max(t)) - julianday(min(t)) DESC LIMIT 5",
);
show("Claude output tokens per session", "SELECT sid, sum(line ->> '$.usage.output_tokens') AS output_tokens FROM (SELECT sid, substr(line, 7) AS line FROM sse_lines WHERE event = 'message_delta' AND line LIKE 'data: %') GROUP BY sid ORDER BY 2 DESC LIMIT 5");
console.log(`\ndatabase: ${db}  (try: sqlite3 ${db})`);
