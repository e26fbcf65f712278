// The live memory budget (--max-rss), shared by the live tail and the index follower: a process
// over it for 30 s in a row restarts itself. A short spike (a burst, a long line) is not enough.

import { rssBytes } from "./progress";

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
    return `RSS ${(rss / 1048576).toFixed(0)} MB has been over --max-rss ${(this.maxBytes / 1048576).toFixed(0)} MB for ${OVER_BUDGET_MS / 1000} s`;
  }
}

/** SIGTERM and SIGINT call `stop`; returns the function that removes the handlers again. */
export function onStopSignals(stop: () => void): () => void {
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return () => {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
  };
}
