// One index run over the agents' roots, then the capture's flows: what `sluice index` does, and what
// the index follower does at each wake. The run holds the deep index's writer claim from its plan to
// its last commit, so a second run (a manual one beside the follower, two started together) waits
// for it instead of reading the same plan and counting the same lines twice.

import type { Database } from "bun:sqlite";
import { claimWriter, releaseWriter } from "../db/writer-lock";
import { discover, type AgentFile } from "./discover";
import { buildFlows } from "./flows";
import { indexFiles, type IndexOptions, type IndexSummary } from "./indexer";

export type IndexOnceResult = IndexSummary & { flowsRebuilt: number; flowsMs: number };

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
}

export async function indexOnce(db: Database, o: IndexOnceOptions): Promise<IndexOnceResult | null> {
  const claim = await claimWriter(db, o.dbPath, "deep-index", o.role, o.log, o.stopped);
  if (claim === null) return null;
  try {
    o.prepare?.();
    const files = await indexFiles(db, o.files ?? discover(o.roots), o.threads);
    const flows = buildFlows(db);
    return { ...files, flowsRebuilt: flows.flows, flowsMs: flows.ms };
  } finally {
    releaseWriter(db, claim);
  }
}
