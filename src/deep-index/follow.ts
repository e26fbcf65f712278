// `sluice index --follow`: keeps the deep index current as the agents write. The first run indexes
// everything (that may take a large heap), then the process replaces itself (same PID, no JIT,
// --handover) like the ingester's live tail, and from then on indexes what changed: a recursive
// directory watch names the files written within milliseconds, and only those are read; a rescan
// of every file (a stat each) is the safety net, every --rescan-ms or when a watch lost track.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { checkpointInBackground, stopBackgroundCheckpoints } from "../db/checkpoints";
import { onCurrentFile, openDatabase } from "../db/open";
import { checkpointTruncate, useIndexSettings, useLiveSettings } from "../db/settings";
import { claimWriter, DatabaseReplaced, fileReplaced, registerRunning, releaseWriter } from "../db/writer-lock";
import { Waker } from "../input/waker";
import { execSelf, liveEnv } from "../runtime/exec-self";
import { count, plural, seconds } from "../runtime/format";
import { Histogram } from "../runtime/histogram";
import { MemoryBudget } from "../runtime/memory-budget";
import { releaseStartupPagesLogged } from "../runtime/page-release";
import { rssBytes } from "../runtime/proc";
import { ago, statusLine } from "../runtime/status-line";
import { exitBySignal, onStopSignals, settleSignals, StopRequest } from "../runtime/signals";
import { inBulkImage } from "./bulk-image";
import { discover } from "./discover";
import { flowsPending } from "./flows";
import { indexOnce, interruptedLine, isStopped, type IndexOnceResult } from "./index-once";
import { defaultParseThreads } from "./parse-pool";
import { WatchedRoots } from "./watched-roots";

export interface FollowOptions {
  dbPath: string;
  roots: { claude: string[]; codex: string[] };
  /** How often to look for roots that appeared, and for new capture lines to build flows from. */
  pollMs: number;
  /** How often every file is looked at (a stat each), whatever the watches said. */
  rescanMs: number;
  maxRssBytes: number;
  liveCacheMb: number;
  /** The words that start the live image (everything after the program). */
  liveArgs: string[];
  handover: boolean;
  /** Keep the files' bytes in the archive (false: --no-archive). */
  archive: boolean;
}

/** Writes come in bursts (a line per content block): wait this long after a wake-up for the rest. */
const SETTLE_MS = 100;

export async function followIndex(o: FollowOptions, log: ConsolaInstance): Promise<void> {
  if (!o.handover) {
    if (!(await firstIndex(o, log))) return;
    await execSelf(o.liveArgs, liveEnv());
  }
  const stop = new LiveStop();
  let db: Database;
  try {
    db = openDatabase(o.dbPath, { create: true });
  } catch (err) {
    stop.dispose();
    throw err;
  }
  let reexec = false;
  try {
    const running = await startLive(db, o, log, stop);
    if (running !== null) reexec = await followChanges(db, o, log, running, stop);
  } catch (err) {
    if (!(err instanceof DatabaseReplaced || fileReplaced(db))) throw err;
    log.info(`${o.dbPath} was replaced by 'sluice vacuum --full'; restarting the follower on the new file`);
    reexec = true;
  } finally {
    await settleSignals(); // one that came meanwhile: seen (stopping), not dropped with the handlers
    stop.dispose();
    stopBackgroundCheckpoints(db, log);
    // Never on a replaced file: its connection may have taken the new file's WAL for its own, and
    // a checkpoint would copy that WAL into the old file and empty it.
    if (!fileReplaced(db)) checkpointTruncate(db);
    db.close();
  }
  // asked to stop meanwhile: it stops here, rather than in a new image that would never hear of it
  if (reexec && !stop.stopping) await execSelf(o.liveArgs, process.env);
}

/**
 * The live image's first writes, under the deep index's claim: WAL mode, the 'running' mark, the
 * checkpoint thread's connection. The claim is taken only on the file at the path (it throws
 * DatabaseReplaced otherwise), and keeps `vacuum --full` from replacing that file until WAL mode
 * is on; from then on, the open connection in WAL mode keeps it from doing so. Switched to WAL
 * without it, a connection that opened the file just before the rebuild's lock would write its
 * header page into the new file's WAL once the rename was done (seen: "malformed database schema").
 */
async function startLive(db: Database, o: FollowOptions, log: ConsolaInstance, stop: LiveStop): Promise<number | null> {
  const claim = await claimWriter(db, o.dbPath, "deep-index", "index --follow", log, () => stop.stopping);
  if (claim === null) return null;
  try {
    useLiveSettings(db, o.liveCacheMb);
    const running = registerRunning(db, o.dbPath, "index --follow");
    checkpointInBackground(db, o.dbPath, log);
    return running;
  } finally {
    releaseWriter(db, claim);
  }
}

/**
 * The first run, with the JIT and parse threads: everything there is to index (again on the new
 * file, if `vacuum --full` replaced it meanwhile). Stopped by a signal, it ends as `sluice index`
 * does: what was written committed, one line, 130 or 143. A signal that came after its last
 * commit is not lost either: the run is complete, and the follower stops as it would while
 * following (false: no hand-over).
 */
async function firstIndex(o: FollowOptions, log: ConsolaInstance): Promise<boolean> {
  const stop = new StopRequest();
  let r: Awaited<ReturnType<typeof indexOnce>>;
  try {
    const index = (announceBulkLoad: boolean) => {
      const threads = { parseThreads: defaultParseThreads(), archive: o.archive, announceBulkLoad };
      const work = (db: Database) => indexOnce(db, { dbPath: o.dbPath, roots: o.roots, role: "index --follow", threads, log, stop, prepare: () => useIndexSettings(db) });
      return onCurrentFile(o.dbPath, { create: true }, work, log, "indexing the new file");
    };
    r = await inBulkImage(index, stop, log);
  } finally {
    await settleSignals(); // one that came while the database closed: seen below, not dropped
    stop.dispose();
  }
  if (r && isStopped(r)) exitBySignal(stop.signal!, interruptedLine(r));
  if (r && stop.signal) log.info(`indexed ${plural(r.files, "file")} (${count(r.lines)} lines) in ${seconds(r.ms)}; ${stop.signal}: stopped before following`);
  else if (r) log.info(`indexed ${plural(r.files, "file")} (${count(r.lines)} lines) in ${seconds(r.ms)}; handing over to the live follower (same PID ${process.pid})`);
  return stop.signal === null;
}

/**
 * The live follower's loop: an index run after each wake, over the files the watch named, or
 * over every file at a rescan. Returns true when the process must start again (the memory budget,
 * or the database file replaced by `vacuum --full`).
 */
async function followChanges(db: Database, o: FollowOptions, log: ConsolaInstance, running: number, stop: LiveStop): Promise<boolean> {
  const { waker } = stop;
  const stopping = () => stop.stopping;
  const roots = new WatchedRoots([...o.roots.claude, ...o.roots.codex], () => waker.wake(), log);
  const budget = new FollowerBudget(o.maxRssBytes, log);
  const status = new FollowStatus(db, log);
  // each pass's commit latency, saved on the 'running' row with the release of the pass's claim
  const commitTimes = { histogram: new Histogram(), running };
  let pagesReleased = false, lastRescan = -Infinity;
  try {
    while (!stopping()) {
      roots.watchNewRoots();
      const changes = roots.take();
      const rescan = changes.rescan || performance.now() - lastRescan >= o.rescanMs;
      if (rescan) lastRescan = performance.now();
      const files = rescan ? discover(o.roots) : discover(o.roots, changes.paths);
      if (rescan || files.length || flowsPending(db)) {
        // no parse threads in the live image: they would not fit its memory budget
        const threads = { parseThreads: 0, some: !rescan, archive: o.archive };
        const r = await indexOnce(db, { dbPath: o.dbPath, roots: o.roots, role: "index --follow", files, threads, log, stopped: stopping, commitTimes });
        if (r && !isStopped(r)) status.ran(r, rescan);
      }
      status.show();
      if (!pagesReleased) {
        pagesReleased = true;
        releaseStartupPagesLogged(o.dbPath, log);
      }
      await waker.wait(o.pollMs);
      if (stopping()) break;
      await Bun.sleep(SETTLE_MS);
      if (budget.restartNeeded()) return true;
    }
    return false;
  } finally {
    statusLine.clear();
    roots.close();
    releaseRunning(db, running);
  }
}

/**
 * The live follower's status line (runtime/status-line.ts): the files it watches (as of the last
 * full listing, and the new ones since), what the index holds, when it last wrote and its RSS.
 * On a terminal it is drawn after every pass; off one, logged once a minute.
 */
class FollowStatus {
  private files = 0;
  private sessions = 0;
  private turns = 0;
  private lines = 0;
  private lastCommitAt: number | null;

  constructor(db: Database, private readonly log: ConsolaInstance) {
    // the first image's writes count as the last commit until this one makes its own
    const at = (db.query("SELECT max(indexed_at) AS at FROM agent_files").get() as { at: string | null }).at;
    this.lastCommitAt = at === null ? null : Date.parse(at);
  }

  ran(r: IndexOnceResult, rescan: boolean) {
    this.files = rescan ? r.files : this.files + r.new;
    this.sessions = r.sessions;
    this.turns = r.turns;
    this.lines += r.lines;
    if (r.lines || r.new || r.grown || r.rewritten || r.flowsRebuilt) this.lastCommitAt = Date.now();
    if (r.lines || r.flowsRebuilt) this.log.debug(`indexed ${plural(r.lines, "line")} from ${plural(r.files - r.unchanged, "file")}, ${plural(r.flowsRebuilt, "flow")}`);
  }

  show() {
    statusLine.update(() =>
      `${plural(this.files, "file")} watched · ${plural(this.sessions, "session")}, ${plural(this.turns, "turn")} indexed · ` +
      `commit ${ago(this.lastCommitAt)} · RSS ${Math.round(rssBytes() / (1 << 20))} MB · ${plural(this.lines, "line")} since start`,
      (line) => this.log.info(line));
  }
}

/**
 * SIGTERM and SIGINT for the live image, caught from before it opens the database: a stop that
 * comes while it starts (waiting for the claim, registering) is as clean as one while it follows.
 */
class LiveStop {
  stopping = false;
  readonly waker = new Waker();
  private readonly removeSignals = onStopSignals(() => {
    this.stopping = true;
    this.waker.wake();
  });

  dispose() {
    this.removeSignals();
  }
}

/** The mark goes with the process; on a file already replaced, there is nothing to take back. */
function releaseRunning(db: Database, id: number) {
  try {
    releaseWriter(db, id);
  } catch {}
}

/** Set in the environment of a follower that restarted itself over its memory budget. */
const RESTARTED_OVER_BUDGET = "SLUICE_FOLLOWER_RESTARTED_OVER_BUDGET";
/** Over the budget this soon after such a restart, another restart would not help. */
const RESTART_HELPS_AFTER_MS = 5 * 60_000;

/**
 * The follower's memory budget, judged after a wait, when the peak of the last pass has settled.
 * A follower that restarted over it and is over it again within minutes needs that memory for the
 * roots it follows: it says so once and goes on, instead of restarting for ever.
 */
class FollowerBudget {
  private readonly budget: MemoryBudget;
  private readonly started = performance.now();
  private readonly restarted = process.env[RESTARTED_OVER_BUDGET] === "1";
  private gaveUp = false;

  constructor(maxBytes: number, private readonly log: ConsolaInstance) {
    this.budget = new MemoryBudget(maxBytes);
  }

  restartNeeded(): boolean {
    if (this.gaveUp) return false;
    const over = this.budget.exceeded();
    if (!over) return false;
    if (this.restarted && performance.now() - this.started < RESTART_HELPS_AFTER_MS) {
      this.log.warn(`${over}, again soon after a restart: following these roots needs that much; raise --max-rss (the follower goes on without restarting)`);
      this.gaveUp = true;
      return false;
    }
    this.log.warn(`${over}; restarting the follower`);
    process.env[RESTARTED_OVER_BUDGET] = "1";
    return true;
  }
}
