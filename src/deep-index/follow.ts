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
import { buildFlows } from "./flows";
import { Waker } from "../input/waker";
import { execSelf, liveEnv } from "../runtime/exec-self";
import { count, seconds } from "../runtime/format";
import { MemoryBudget } from "../runtime/memory-budget";
import { releaseStartupPagesLogged } from "../runtime/page-release";
import { onStopSignals } from "../runtime/signals";
import { discover } from "./discover";
import { indexFiles, type IndexOptions } from "./indexer";

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

/** One index run over the roots, then the capture's flows: what `sluice index` does, and each wake of the follower. */
export async function indexOnce(db: Database, roots: FollowOptions["roots"], threads?: IndexOptions) {
  const files = await indexFiles(db, discover(roots), threads);
  const flows = buildFlows(db);
  return { ...files, flows_rebuilt: flows.flows, flows_ms: flows.ms };
}

export async function followIndex(o: FollowOptions, log: ConsolaInstance): Promise<void> {
  if (!o.handover) {
    const db = openDatabase(o.dbPath, { create: true });
    useIndexSettings(db);
    try {
      const r = await indexOnce(db, o.roots);
      log.info(`indexed ${r.files} files (${count(r.lines)} lines) in ${seconds(r.ms)}; handing over to the live follower (same PID ${process.pid})`);
    } finally {
      db.close();
    }
    await execSelf(o.liveArgs, liveEnv());
  }

  const db = openDatabase(o.dbPath, { create: true });
  useLiveSettings(db, o.liveCacheMb);
  checkpointInBackground(db, o.dbPath, log);
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
  const stop = () => {
    stopping = true;
    waker.wake();
  };
  const removeSignals = onStopSignals(stop);
  const budget = new MemoryBudget(o.maxRssBytes);
  let reexec = false, pagesReleased = false;
  try {
    while (!stopping) {
      // no parse threads in the live image: they would not fit its memory budget
      const r = await indexOnce(db, o.roots, { parseThreads: 0 });
      if (r.lines || r.flows_rebuilt) log.debug(`indexed ${r.lines} lines from ${r.files - r.skipped} files, ${r.flows_rebuilt} flows`);
      if (!pagesReleased) {
        pagesReleased = true;
        releaseStartupPagesLogged(o.dbPath, log);
      }
      const over = budget.exceeded();
      if (over) {
        log.warn(`${over}; restarting the follower`);
        reexec = true;
        break;
      }
      await waker.wait(o.pollMs);
      if (!stopping) await Bun.sleep(SETTLE_MS);
    }
  } finally {
    removeSignals();
    for (const w of watchers) w.close();
    stopBackgroundCheckpoints(db, log);
    checkpointTruncate(db);
    db.close();
  }
  if (reexec) await execSelf(o.liveArgs, process.env);
}
