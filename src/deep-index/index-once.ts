// One index run over the agents' roots, then the capture's flows: what `sluice index` does, and what
// the index follower does at each wake. The run holds the deep index's writer claim from its plan to
// its last commit, so a second run (a manual one beside the follower, two started together) waits
// for it instead of reading the same plan and counting the same lines twice. A run that finds
// nothing to write (a look at the plan first, read-only) takes no claim and commits nothing.

import type { Database } from "bun:sqlite";
import { claimWriter, releaseWriter, releaseWriterSaving } from "../db/writer-lock";
import type { Histogram } from "../runtime/histogram";
import { discover, type AgentFile } from "./discover";
import { buildFlows, flowsPending } from "./flows";
import { count, plural, size } from "../runtime/format";
import type { StopRequest } from "../runtime/signals";
import { defaultParseThreads, indexFiles, planIndex, type IndexInterruption, type IndexOptions, type IndexSummary } from "./indexer";

/** A claim that took longer than this to get: the tree is listed again, since files may have come meanwhile. */
const RELIST_AFTER_MS = 1000;

export type IndexOnceResult = IndexSummary & { flowsRebuilt: number; flowsMs: number };

/** A run that a stop request ended: where it stopped ('before' the claim: nothing written). */
export type IndexStopped = { interrupted: IndexInterruption | "before" };

export interface IndexOnceOptions {
  dbPath: string;
  roots: { claude: string[]; codex: string[] };
  /** What the claim is shown as, to whoever waits for it: 'index', 'index --follow'. */
  role: string;
  threads?: IndexOptions;
  /** The files to bring up to date, when not every file under the roots (the follower's watch named them). */
  files?: AgentFile[];
  log: { info(m: string): void };
  /** A stop signal came while waiting for the claim: give up (null). */
  stopped?: () => boolean;
  /**
   * Settings for the run (journal mode, cache), applied once the claim is held: never while
   * `vacuum --full` holds the database, whose rebuild needs it in rollback-journal mode.
   */
  prepare?: () => void;
  /**
   * `sluice index` run to an end: a stop signal ends the run after the file being written, with
   * what was written committed, and no flows built (the next run builds them). A second signal
   * rolls back the batch in flight and ends the process at once.
   */
  stop?: StopRequest;
  /**
   * The index follower's commit latencies: each run's writes counted in `histogram`, and saved on
   * the follower's 'running' row (`running`, its id in writers) with the claim's release.
   */
  commitTimes?: { histogram: Histogram; running: number };
}

export async function indexOnce(db: Database, o: IndexOnceOptions): Promise<IndexOnceResult | IndexStopped | null> {
  const { stop } = o;
  const threads = { ...(o.threads ?? { parseThreads: defaultParseThreads() }), stop };
  const files = o.files ?? discover(o.roots);
  // nothing to write: no claim, no commit (a run that finds something takes the claim and plans again)
  const plan = planIndex(db, files, threads, () => !flowsPending(db));
  if ("quiet" in plan) return { ...plan.quiet, flowsRebuilt: 0, flowsMs: 0 };
  const waited = performance.now();
  const claim = await claimWriter(db, o.dbPath, "deep-index", o.role, o.log, stop ? () => stop.stopped : o.stopped);
  if (claim === null) return stop?.stopped ? { interrupted: "before" } : null;
  if (stop) stop.lastResort = () => db.inTransaction && db.run("ROLLBACK");
  try {
    o.prepare?.();
    // listed and planned again after a wait for another writer: files may have come meanwhile
    const relisted = !o.files && performance.now() - waited > RELIST_AFTER_MS;
    const t = performance.now();
    const { interrupted, ...summary } = await (relisted ? indexFiles(db, discover(o.roots), threads) : plan.write());
    if (interrupted) return { interrupted };
    observeWrites(o.commitTimes?.histogram, summary, performance.now() - t);
    const flows = buildFlows(db);
    return { ...summary, flowsRebuilt: flows.flows, flowsMs: flows.ms };
  } finally {
    if (stop) stop.lastResort = () => {};
    const c = o.commitTimes;
    if (c?.histogram.changed) releaseWriterSaving(db, claim, c.running, c.histogram.toJSON());
    else releaseWriter(db, claim);
  }
}

/**
 * Counts a run that wrote (a file read, grown, rewritten or moved) as one commit, timed from its
 * BEGIN IMMEDIATE (indexFiles' first statement, which reads the plan inside the transaction) to
 * its COMMIT: how long the files the watch named waited, once the follower woke, to be
 * committed. A run over more than one batch (over 64 MB to read: a rescan after a long stop)
 * counts as one. A run that found nothing to write committed nothing and is not counted.
 */
function observeWrites(h: Histogram | undefined, s: IndexSummary, ms: number) {
  if (h && s.files - s.unchanged > 0) h.observe(ms / 1000);
}

export function isStopped(r: IndexOnceResult | IndexStopped): r is IndexStopped {
  return "interrupted" in r;
}

/** The one line a stopped run ends with: how far it got, and what to do next. */
export function interruptedLine(s: IndexStopped): string {
  const i = s.interrupted;
  const where = i === "before"
    ? "nothing indexed (stopped while waiting for another writer)"
    : `indexed ${count(i.files)} of ${plural(i.ofFiles, "file")} to read (${size(i.bytes)} of ${size(i.ofBytes)}), committed`;
  return `interrupted: ${where}; run the same command to resume`;
}
