import type { Database } from "bun:sqlite";
import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { onCurrentFile } from "../db/open";
import { useIndexSettings } from "../db/settings";
import { inBulkImage } from "../deep-index/bulk-image";
import { agentRoots } from "../deep-index/discover";
import { followIndex } from "../deep-index/follow";
import { indexOnce, interruptedLine, isStopped, type IndexStopped } from "../deep-index/index-once";
import { defaultParseThreads, type IndexOptions } from "../deep-index/indexer";
import type { IndexOnceResult } from "../deep-index/index-once";
import { count, megabytes, plural, seconds } from "../runtime/format";
import { log } from "../runtime/log";
import { exitBySignal, StopRequest } from "../runtime/signals";
import { config } from "../runtime/config";
import { dbArg, intFlag, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printResult } from "./output";

/**
 * One index run; when `vacuum --full` replaced the file while this run waited for its claim, the
 * run opens the path again (nothing was written to the old file) and goes on there.
 */
function indexWithRetry(dbPath: string, roots: { claude: string[]; codex: string[] }, threads: IndexOptions, stop: StopRequest): Promise<IndexOnceResult | IndexStopped> {
  const work = async (db: Database) => (await indexOnce(db, { dbPath, roots, role: "index", threads, log, stop, prepare: () => useIndexSettings(db) }))!;
  return onCurrentFile(dbPath, { create: true }, work, log, "indexing the new file");
}

/**
 * The run, stopped by SIGINT or SIGTERM after the file being written (what was written is
 * committed, the database closed): one line that says where, and the end by the signal (130, 143).
 */
async function indexInterruptible(dbPath: string, roots: { claude: string[]; codex: string[] }, threads: IndexOptions): Promise<IndexOnceResult> {
  // before the database is opened: a signal during a migration waits for it to commit
  const stop = new StopRequest();
  let r: IndexOnceResult | IndexStopped;
  try {
    r = await inBulkImage((announceBulkLoad) => indexWithRetry(dbPath, roots, { ...threads, announceBulkLoad }, stop), stop, log);
  } finally {
    stop.dispose();
  }
  if (isStopped(r)) exitBySignal(stop.signal!, interruptedLine(r));
  // a signal after the last commit: the run is complete, and says so
  return r;
}

/**
 * Refuses to index nothing without a word: a named root that does not exist is a typo, and with
 * no root named, at least one of the default ones must exist.
 */
function requireRoots(given: { claude?: string[]; codex?: string[] }, roots: { claude: string[]; codex: string[] }) {
  for (const agent of ["claude", "codex"] as const) {
    for (const r of given[agent] ?? []) if (!existsSync(r)) throw new SluiceError(`--${agent} ${r}: no such directory or file`, EXIT_USAGE);
  }
  if (!given.claude && !given.codex && ![...roots.claude, ...roots.codex].some((r) => existsSync(r))) {
    throw new SluiceError(`found no agent logs: neither ${roots.claude.join(", ")} nor ${roots.codex.join(", ")} exists; pass --claude DIR or --codex DIR`, EXIT_FAILURE);
  }
}

const list = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);
const MiB = 1 << 20;

export default defineCommand({
  meta: helpMeta({
    name: "index",
    description: "Index Claude Code transcripts and Codex rollouts (sessions, turns, invocations, models) and sse_lines (flows), incrementally",
    examples: [
      "sluice index                                  # ~/.claude and ~/.codex, then 'sluice report daily'",
      "sluice index --follow                         # and keep it current as the agents write",
      "sluice index --claude ~/work/.claude,~/.claude --codex ~/.codex",
    ],
  }),
  args: {
    claude: { type: "string", description: "Claude Code config or projects directories, comma-separated (default: $CLAUDE_CONFIG_DIR, else ~/.claude)", valueHint: "dirs", group: "input" },
    codex: { type: "string", description: "Codex home or sessions directories, comma-separated (default: $CODEX_HOME, else ~/.codex)", valueHint: "dirs", group: "input" },
    follow: { type: "boolean", description: "After indexing, keep the index current as the agents write (the live follower)", default: false, group: "live" },
    "poll-ms": { type: "string", description: "Follow: how often to look for roots that appeared and for new capture lines, in ms (default 2000)", valueHint: "ms", group: "live" },
    "rescan-ms": { type: "string", description: "Follow: how often to stat every file, whatever the watches said, in ms (default 300000)", valueHint: "ms", group: "live" },
    "max-rss": { type: "string", description: "Follow: memory budget in MiB; over it for 30 s, the follower restarts itself (default 64)", valueHint: "MiB", group: "live" },
    "live-cache-mb": { type: "string", description: "Follow: SQLite cache, in MiB (default 2)", valueHint: "MiB", group: "live" },
    jobs: { type: "string", description: "Parse in this many worker threads while one writes (default: cores, at most 3, used when there is more than 64 MB to read; 0: none)", valueHint: "n", group: "advanced" },
    bulk: {
      type: "boolean",
      description: "Load without the secondary indexes and build them at the end (default: on a first index with more than 64 MB to read; --no-bulk: never)",
    },
    archive: {
      type: "boolean",
      description: "Keep every byte of the logs in the database, for export, search and show (the default, unless the config file says \"archive\": false; --no-archive: counts only; switched on later, it archives what is still on disk)",
    },
    handover: { type: "boolean", description: "Internal: set by the hand-over exec; start as the live follower", default: false, group: "internal" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    const archive = args.archive ?? config().archive ?? true;
    const given = { claude: list(args.claude), codex: list(args.codex) };
    const roots = agentRoots(given);
    // a root named on the command line must be there (the follower waits for one that is not yet)
    if (!args.follow) requireRoots(given, roots);
    const dbPath = resolveDbPath(args.db);
    if (args.follow) {
      const pollMs = intFlag("poll-ms", args["poll-ms"], 2000, 10);
      const rescanMs = intFlag("rescan-ms", args["rescan-ms"], 300_000, 100);
      const maxRssMb = intFlag("max-rss", args["max-rss"], 64, 16);
      const liveCacheMb = intFlag("live-cache-mb", args["live-cache-mb"], 2, 1);
      const liveArgs = ["index", "--follow", "--handover", "--db", dbPath, "--claude", roots.claude.join(","), "--codex", roots.codex.join(","),
        "--poll-ms", String(pollMs), "--rescan-ms", String(rescanMs), "--max-rss", String(maxRssMb), "--live-cache-mb", String(liveCacheMb), ...(archive ? [] : ["--no-archive"])];
      await followIndex({ dbPath, roots, pollMs, rescanMs, maxRssBytes: maxRssMb * MiB, liveCacheMb, liveArgs, handover: args.handover, archive }, log);
      return;
    }
    const threads = args.jobs === undefined ? { parseThreads: defaultParseThreads() } : { parseThreads: intFlag("jobs", args.jobs, 0, 0), always: true };
    const r = await indexInterruptible(dbPath, roots, { ...threads, bulk: args.bulk, archive });
    printResult(args.json, { ...r, roots }, () => [
      `indexed ${r.files} files (${r.new} new, ${r.grown} grown, ${r.rewritten} rewritten, ${r.unchanged} unchanged): ${count(r.lines)} lines, ` +
        `${megabytes(r.bytes, 1)} MB in ${seconds(r.ms, 2)} (writes ${r.writeMs} ms); ${r.sessions} sessions, ${count(r.turns)} turns in the index` +
        (r.malformed || r.unknown ? `; ${count(r.malformed)} malformed and ${count(r.unknown)} unknown lines skipped` : "") +
        (r.flowsRebuilt ? `; ${count(r.flowsRebuilt)} flows from sse_lines built in ${count(r.flowsMs)} ms` : ""),
      ...(r.unarchived.length ? [`${plural(r.unarchived.length, "session")} ${r.unarchived.length === 1 ? "has" : "have"} no content left to archive (indexed with --no-archive, their files gone since): ${listed(r.unarchived, 10)}`] : []),
    ]);
  },
});

/** The first `most` names, and how many more: a list of 670 session ids is not a log line ('--json' has them all). */
function listed(names: string[], most: number): string {
  return names.length <= most ? names.join(", ") : `${names.slice(0, most).join(", ")} and ${names.length - most} more (--json lists them all)`;
}
