// The index follower's view of the agents' roots: a recursive watch on each names the paths that
// changed, so a pass reads those files and nothing else. A root that does not exist yet (Codex
// installed after the follower started) is looked for at every poll and watched once it appears.
// Whatever a watch cannot vouch for (it overflowed, failed, or just started) asks for a rescan:
// a stat of every file, as a plain `sluice index` does.

import { watch, type FSWatcher } from "node:fs";
import { join, resolve } from "node:path";

/** What changed since the last take: a rescan, or these paths (files or directories). */
export interface Changes {
  rescan: boolean;
  paths: string[];
}

/** More named paths than this in one pass: a rescan is cheaper than walking each. */
const MAX_NAMED_PATHS = 5_000;

export class WatchedRoots {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly roots: string[];
  private dirty = new Set<string>();
  private rescan = true;

  constructor(
    roots: string[],
    /** Called on every change a watch reports. */
    private readonly onChange: () => void,
    private readonly log: { info(m: string): void },
  ) {
    this.roots = [...new Set(roots.map((r) => resolve(r)))];
    for (const root of this.roots) this.tryWatch(root, true);
  }

  /** Watches the roots that appeared since the last call; a root newly watched asks for a rescan. */
  watchNewRoots() {
    for (const root of this.roots) if (!this.watchers.has(root)) this.tryWatch(root, false);
  }

  /** The changes since the last take. */
  take(): Changes {
    const changes = { rescan: this.rescan || this.dirty.size > MAX_NAMED_PATHS, paths: [...this.dirty] };
    this.rescan = false;
    this.dirty = new Set();
    return changes;
  }

  close() {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private tryWatch(root: string, first: boolean) {
    let w: FSWatcher;
    try {
      w = watch(root, { recursive: true }, (_event, name) => {
        if (name === null || name === undefined) this.rescan = true; // the watch lost track (an overflow)
        else this.dirty.add(join(root, String(name)));
        this.onChange();
      });
    } catch {
      if (first) this.log.info(`${root} does not exist (yet); looking for it at every poll`);
      return;
    }
    w.on("error", () => {
      // the root itself went away (or the watch broke): watch it again when it is back
      w.close();
      this.watchers.delete(root);
      this.rescan = true;
      this.onChange();
    });
    this.watchers.set(root, w);
    if (!first) this.log.info(`${root} appeared; watching it`);
    this.rescan = true;
    this.onChange();
  }
}
