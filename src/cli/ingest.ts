import { defineCommand } from "citty";
import { runBackfill, type IngestOptions, type IngestSummary } from "../ingest/backfill";
import { backfillInBulkImage } from "../ingest/bulk-image";
import { execSelf, keepAcrossExec, liveEnv } from "../runtime/exec-self";
import { runLiveFile, type LiveOptions } from "../ingest/live";
import { runLiveStdin } from "../ingest/live-stdin";
import { SluiceError } from "../runtime/errors";
import { count as n, plural } from "../runtime/format";
import { log } from "../runtime/log";
import { dbArg, intFlag, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson } from "./output";
import { isTerminal } from "../runtime/stdio";

const MiB = 1 << 20;

export default defineCommand({
  meta: helpMeta({
    name: "ingest",
    description: "Ingest an sse_lines.jsonl capture into the database, exactly once. Run again to go on from where it stopped.",
    examples: [
      "sluice ingest ~/capture/sse_lines.jsonl                 # backfill, then exit",
      "sluice ingest ~/capture/sse_lines.jsonl --follow        # backfill, then follow new lines (rotation too)",
      "some-proxy | sluice ingest - --follow                   # stdin: it has no identity, so a re-run appends again",
    ],
  }),
  args: {
    input: { type: "positional", description: "The sse_lines.jsonl file, or - for stdin", required: true, valueHint: "file|-" },
    ...dbArg,
    ...jsonArg,
    "from-scratch": { type: "boolean", description: "Empty the sse tables and forget every source first (destructive)", default: false, group: "advanced" },
    "start-offset": { type: "string", description: "Start at this byte instead of the committed offset; must be a line start, never before the committed offset", valueHint: "byte", group: "input" },
    "max-line": { type: "string", description: "Lines longer than this many bytes go to rejects (default 67108864, 64 MiB)", valueHint: "bytes", group: "input" },
    "cache-mb": { type: "string", description: "SQLite page cache for the backfill, in MiB (default 1024)", valueHint: "MiB", group: "advanced" },
    "batch-rows": { type: "string", description: "Commit after this many rows (default 50000)", valueHint: "n", group: "advanced" },
    "batch-ms": { type: "string", description: "Commit at least this often, in milliseconds (default 1000)", valueHint: "ms", group: "advanced" },
    jobs: { type: "string", description: "Threads for the backfill of a large file (default: CPU cores, at most 4)", valueHint: "n", group: "advanced" },
    "page-size": { type: "string", description: "Page size of a new database, in bytes (default 8192)", valueHint: "bytes", group: "advanced" },
    progress: { type: "boolean", description: "Show a progress line (default: when stderr is a terminal)", default: undefined, group: "output" },
    follow: { type: "boolean", description: "After the backfill, keep following the input for new lines (the live tail)", default: false, group: "live" },
    "live-cache-mb": { type: "string", description: "SQLite cache of the live tail, in MiB (default 2)", valueHint: "MiB", group: "live" },
    "live-batch-rows": { type: "string", description: "Live: commit after this many rows (default 5000)", valueHint: "n", group: "live" },
    "live-batch-ms": { type: "string", description: "Live: commit at least this often, in milliseconds (default 50)", valueHint: "ms", group: "live" },
    "max-rss": { type: "string", description: "Live: memory budget in MiB; over it for 30 s, the tail restarts itself at the committed offset (default 64)", valueHint: "MiB", group: "live" },
    "poll-ms": { type: "string", description: "Live: how often to look at the file when no change was signalled, in ms (default 1000)", valueHint: "ms", group: "live" },
    "rotate-wait-ms": { type: "string", description: "Live: how long a rotated or deleted file is still read for late writes, in ms (default 5000)", valueHint: "ms", group: "live" },
    "idle-ms": { type: "string", description: "Live, stdin: switch to live settings after this long without input, in ms (default 3000)", valueHint: "ms", group: "live" },
    handover: { type: "boolean", description: "Internal: set by the hand-over exec; start as the live tail, never backfill", default: false, group: "internal" },
    "input-fd": { type: "string", description: "Internal: set by the hand-over exec; the input file the backfill read, inherited open", valueHint: "fd", group: "internal" },
  },
  async run({ args }) {
    const backfill: IngestOptions = {
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
        progress: args.progress ?? isTerminal(2),
    };
    if (!args.handover && backfill.input !== "/dev/stdin") await backfillInBulkImage(backfill.dbPath, backfill.input, backfill.fromScratch, log);
    if (!args.follow) {
      report(await runBackfill(backfill, log), args.json);
      return;
    }
    const live: LiveOptions = {
      input: args.input,
      dbPath: backfill.dbPath,
      startOffset: backfill.startOffset,
      maxLine: backfill.maxLine,
      pageSize: backfill.pageSize,
      liveCacheMb: intFlag("live-cache-mb", args["live-cache-mb"], 2, 1),
      batchRows: intFlag("live-batch-rows", args["live-batch-rows"], 5000, 1),
      batchMs: intFlag("live-batch-ms", args["live-batch-ms"], 50, 1),
      maxRssBytes: intFlag("max-rss", args["max-rss"], 64, 8) * MiB,
      pollMs: intFlag("poll-ms", args["poll-ms"], 1000, 10),
      rotateWaitMs: intFlag("rotate-wait-ms", args["rotate-wait-ms"], 5000, 0),
      reexecArgs: (offset) => liveArgs(args, backfill.dbPath, offset),
      inheritedFd: args["input-fd"] === undefined ? null : intFlag("input-fd", args["input-fd"], 0),
    };
    if (backfill.input === "-" || backfill.input === "/dev/stdin") {
      await runLiveStdin({ ...live, backfill, idleMs: intFlag("idle-ms", args["idle-ms"], 3000, 10) }, log, (s) => report(s, args.json));
      return;
    }
    if (args.handover) {
      await runLiveFile(live, log);
      return;
    }
    // The input stays open across the exec: a file deleted or rotated away meanwhile is still read.
    const input = { fd: null as number | null };
    let summary = await runBackfill(backfill, log, input);
    report(summary, args.json);
    // What was appended while the backfill built its indexes is read here, with the JIT and the
    // indexes in place, rather than left as a backlog for the JIT-less live image, which reads
    // several times slower: the first live commits then come within the latency bound.
    for (let pass = 0; pass < CATCH_UP_PASSES && summary.seconds >= CATCH_UP_DONE_S; pass++) {
      summary = await runBackfill({ ...backfill, fromScratch: false, startOffset: null, progress: false }, log, input);
      log.info(`caught up ${plural(summary.lines, "line")} appended meanwhile, in ${summary.seconds.toFixed(2)} s`);
    }
    log.info(`backfill done; handing over to the live tail at byte ${summary.committedOffset} (same PID ${process.pid})`);
    // The live image runs without the JIT unless told otherwise: about 9 MB less RSS at live rates.
    const liveWords = liveArgs(args, backfill.dbPath, summary.committedOffset);
    const inherited = input.fd === null ? null : await keepAcrossExec(input.fd);
    if (inherited !== null) liveWords.push("--input-fd", String(inherited));
    await execSelf(liveWords, liveEnv());
  },
});

/** Catch-up passes after a backfill, until one takes less than CATCH_UP_DONE_S. */
const CATCH_UP_PASSES = 3;
const CATCH_UP_DONE_S = 0.5;

/** The live image's command line: the same input and live flags, starting at `offset`. */
function liveArgs(args: Record<string, unknown>, dbPath: string, offset: number): string[] {
  const out = ["ingest", String(args.input), "--follow", "--handover", "--db", dbPath, "--start-offset", String(offset)];
  for (const name of ["max-line", "live-cache-mb", "live-batch-rows", "live-batch-ms", "max-rss", "poll-ms", "rotate-wait-ms", "page-size"]) {
    const v = args[name];
    if (typeof v === "string" && v !== "") out.push(`--${name}`, v);
  }
  return out;
}

function pageSizeFlag(v: string | undefined): number {
  const n = intFlag("page-size", v, 8192, 512);
  if (n > 65536 || (n & (n - 1)) !== 0) throw new SluiceError(`--page-size ${v} is not a power of two from 512 to 65536`);
  return n;
}

function report(s: IngestSummary, json: boolean) {
  if (json) {
    printJson(s);
    return;
  }
  log.success(
    `${plural(s.lines, "line")} (${plural(s.rows, "row")}, ${plural(s.rejects, "reject")}) in ${s.seconds.toFixed(2)} s: ${n(s.linesPerSecond)} lines/s, ${s.mbPerSecond.toFixed(1)} MB/s, peak RSS ${s.peakRssMb.toFixed(0)} MB` +
      (s.indexesBuilt ? `; ${plural(s.indexesBuilt, "index", "indexes")} built in ${s.indexSeconds.toFixed(2)} s` : "") +
      `; committed through byte ${n(s.committedOffset)}`,
  );
}
