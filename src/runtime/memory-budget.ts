// The live memory budget (--max-rss), shared by the live tail and the index follower: a process
// over it for 30 s in a row restarts itself. A short spike (a burst, a long line) is not enough.

import { mib } from "./format";
import { rssBytes } from "./proc";

const OVER_BUDGET_MS = 30_000;

export class MemoryBudget {
  private overSince: number | null = null;

  constructor(readonly maxBytes: number) {}

  /** Samples RSS; returns a one-line reason when the budget has been exceeded long enough. */
  exceeded(rss = rssBytes(), now = performance.now()): string | null {
    if (rss <= this.maxBytes) {
      this.overSince = null;
      return null;
    }
    this.overSince ??= now;
    if (now - this.overSince < OVER_BUDGET_MS) return null;
    return `RSS ${mib(rss, 0)} has been over --max-rss ${mib(this.maxBytes, 0)} for ${OVER_BUDGET_MS / 1000} s`;
  }
}
