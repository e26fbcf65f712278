import { defineCommand } from "citty";
import { runBackfill, type IngestSummary } from "../ingest/backfill";
import { SluiceError } from "../errors";
import { log } from "../log";
import { dbArg, intFlag, jsonArg, resolveDbPath } from "./shared-args";

const MiB = 1 << 20;

export default defineCommand({
  meta: {
    name: "ingest",
    description: "Ingest an sse_lines.jsonl capture into the database, exactly once. Run again to go on from where it stopped.",
  },
  args: {
    input: { type: "positional", description: "The sse_lines.jsonl file, or - for stdin", required: true, valueHint: "file|-" },
    ...dbArg,
    ...jsonArg,
    "from-scratch": { type: "boolean", description: "Empty the sse tables and forget every source first (destructive)", default: false },
    "start-offset": { type: "string", description: "Start at this byte instead of the committed offset; must be a line start, never before the committed offset", valueHint: "byte" },
    "max-line": { type: "string", description: "Lines longer than this many bytes go to rejects (default 67108864, 64 MiB)", valueHint: "bytes" },
    "cache-mb": { type: "string", description: "SQLite page cache for the backfill, in MiB (default 1024)", valueHint: "MiB" },
    "batch-rows": { type: "string", description: "Commit after this many rows (default 50000)", valueHint: "n" },
    "batch-ms": { type: "string", description: "Commit at least this often, in milliseconds (default 1000)", valueHint: "ms" },
    jobs: { type: "string", description: "Threads for the backfill of a large file (default: CPU cores, at most 4)", valueHint: "n" },
    "page-size": { type: "string", description: "Page size of a new database, in bytes (default 8192)", valueHint: "bytes" },
    progress: { type: "boolean", description: "Show a progress line (default: when stderr is a terminal)", default: undefined },
  },
  async run({ args }) {
    const summary = await runBackfill(
      {
        input: args.input,
        dbPath: resolveDbPath(args.db),
        fromScratch: args["from-scratch"],
        startOffset: args["start-offset"] === undefined ? null : intFlag("start-offset", args["start-offset"], 0),
        maxLine: intFlag("max-line", args["max-line"], 64 * MiB, 1),
        cacheMb: intFlag("cache-mb", args["cache-mb"], 1024, 2),
        batchRows: intFlag("batch-rows", args["batch-rows"], 50_000, 1),
        batchMs: intFlag("batch-ms", args["batch-ms"], 1000, 1),
        jobs: intFlag("jobs", args.jobs, Math.min(4, navigator.hardwareConcurrency), 1),
        pageSize: pageSizeFlag(args["page-size"]),
        progress: args.progress ?? Boolean(process.stderr.isTTY),
      },
      log,
    );
    report(summary, args.json);
  },
});

function pageSizeFlag(v: string | undefined): number {
  const n = intFlag("page-size", v, 8192, 512);
  if (n > 65536 || (n & (n - 1)) !== 0) throw new SluiceError(`--page-size ${v} is not a power of two from 512 to 65536`);
  return n;
}

function report(s: IngestSummary, json: boolean) {
  if (json) {
    process.stdout.write(JSON.stringify(s) + "\n");
    return;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  log.success(
    `${n(s.lines)} lines (${n(s.rows)} rows, ${n(s.rejects)} rejects) in ${s.seconds.toFixed(2)} s: ${n(s.lines_per_s)} lines/s, ${s.mb_per_s.toFixed(1)} MB/s, peak RSS ${s.peak_rss_mb.toFixed(0)} MB` +
      (s.indexes_built ? `; ${s.indexes_built} indexes built in ${s.index_seconds.toFixed(2)} s` : "") +
      `; committed through byte ${n(s.committed_offset)}`,
  );
}
