// `sluice index --follow`: keeps the deep index current as the agents write. The first run indexes
// everything (that may take a large heap), then the process replaces itself (same PID, no JIT,
// --handover) like the ingester's live tail, and from then on indexes what changed: a recursive
// directory watch wakes it within milliseconds of a write, and a slow poll is the safety net.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { watch, type FSWatcher } from "node:fs";
import { checkpointInBackground, stopBackgroundCheckpoints } from "../db/checkpoints";
import { openDatabase } from "../db/open";
import { checkpointTruncate, useIndexSettings, useLiveSettings } from "../db/settings";
import { fileAt, replacedUnder } from "../db/writer-lock";
import { Waker } from "../input/waker";
import { execSelf, liveEnv } from "../runtime/exec-self";
import { count, seconds } from "../runtime/format";
import { MemoryBudget } from "../runtime/memory-budget";
import { releaseStartupPagesLogged } from "../runtime/page-release";
import { onStopSignals } from "../runtime/signals";
import { indexOnce } from "./index-once";

export interface FollowOptions {
  dbPath: string;
  roots: { claude: string[]; codex: string[] };
  pollMs: number;
  maxRssBytes: number;
  liveCacheMb: number;
  /** The words that start the live image (everything after the program). */
  liveArgs: string[];
  handover: boolean;
}

/** Writes come in bursts (a line per content block): wait this long after a wake-up for the rest. */
const SETTLE_MS = 100;

export async function followIndex(o: FollowOptions, log: ConsolaInstance): Promise<void> {
  if (!o.handover) {
    await firstIndex(o, log);
    await execSelf(o.liveArgs, liveEnv());
  }
  const before = fileAt(o.dbPath);
  const db = openDatabase(o.dbPath, { create: true });
  let reexec = false;
  try {
    useLiveSettings(db, o.liveCacheMb);
    checkpointInBackground(db, o.dbPath, log);
    reexec = await followChanges(db, o, log);
  } catch (err) {
    if (!replacedUnder(err, o.dbPath, before)) throw err;
    log.info(`${o.dbPath} was replaced by 'sluice vacuum --full'; restarting the follower on the new file`);
    reexec = true;
  } finally {
    stopBackgroundCheckpoints(db, log);
    if (!reexec || fileAt(o.dbPath) === before) checkpointTruncate(db); // not on a file that was replaced
    db.close();
  }
  if (reexec) await execSelf(o.liveArgs, process.env);
}

/** The first run, with the JIT and parse threads: everything there is to index. */
async function firstIndex(o: FollowOptions, log: ConsolaInstance) {
  const db = openDatabase(o.dbPath, { create: true });
  try {
    const r = await indexOnce(db, { dbPath: o.dbPath, roots: o.roots, role: "index --follow", log, prepare: () => useIndexSettings(db) });
    if (r) log.info(`indexed ${r.files} files (${count(r.lines)} lines) in ${seconds(r.ms)}; handing over to the live follower (same PID ${process.pid})`);
  } finally {
    db.close();
  }
}

/**
 * The live follower's loop: an index run after each wake. Returns true when the process must
 * start again (the memory budget, or the database file replaced by `vacuum --full`).
 */
async function followChanges(db: Database, o: FollowOptions, log: ConsolaInstance): Promise<boolean> {
  const waker = new Waker();
  const watchers: FSWatcher[] = [];
  for (const root of [...o.roots.claude, ...o.roots.codex]) {
    try {
      watchers.push(watch(root, { recursive: true }, () => waker.wake()));
    } catch {
      log.info(`${root} does not exist (yet); polling for it every ${o.pollMs} ms`);
    }
  }
  let stopping = false;
  const removeSignals = onStopSignals(() => {
    stopping = true;
    waker.wake();
  });
  const budget = new MemoryBudget(o.maxRssBytes);
  let pagesReleased = false;
  try {
    while (!stopping) {
      // no parse threads in the live image: they would not fit its memory budget
      const r = await indexOnce(db, { dbPath: o.dbPath, roots: o.roots, role: "index --follow", threads: { parseThreads: 0 }, log, stopped: () => stopping });
      if (r && (r.lines || r.flows_rebuilt)) log.debug(`indexed ${r.lines} lines from ${r.files - r.skipped} files, ${r.flows_rebuilt} flows`);
      if (!pagesReleased) {
        pagesReleased = true;
        releaseStartupPagesLogged(o.dbPath, log);
      }
      const over = budget.exceeded();
      if (over) {
        log.warn(`${over}; restarting the follower`);
        return true;
      }
      await waker.wait(o.pollMs);
      if (!stopping) await Bun.sleep(SETTLE_MS);
    }
    return false;
  } finally {
    removeSignals();
    for (const w of watchers) w.close();
  }
}
