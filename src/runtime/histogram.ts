// A writer's commit latencies, counted in fixed buckets: what `/metrics` shows as a Prometheus
// histogram. A histogram rather than a summary because the writer then keeps a few integers (no
// window of samples, no quantile estimator), the buckets of two writers, or of one writer before
// and after a restart, can be added up, and Prometheus computes any quantile from them
// (histogram_quantile), over any range the reader picks.
//
// The writer saves the counts with a state write it makes anyway (the ingester's heartbeat, the
// release of the index follower's claim), as JSON: the bounds travel with the counts, so a reader
// never pairs counts with the wrong bounds after the bounds change.

/**
 * Upper bounds in seconds. A live capture commit is a few milliseconds (its batch window, 50 ms by
 * default, comes on top); an index pass tens to hundreds; 10 s is a disk in trouble.
 */
export const COMMIT_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The saved form: per-bucket (not cumulative) counts, the last one for +Inf. */
export interface HistogramState {
  le: number[];
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  /** Observations since the last toJSON: a heartbeat with nothing new need not rewrite them. */
  private unsaved = false;

  constructor(private readonly le: number[] = COMMIT_BUCKETS_S) {
    this.counts = new Array(le.length + 1).fill(0);
  }

  observe(seconds: number) {
    let i = 0;
    while (i < this.le.length && seconds > this.le[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
    this.unsaved = true;
  }

  /** Times `work` and counts it. */
  time<T>(work: () => T): T {
    const t = performance.now();
    try {
      return work();
    } finally {
      this.observe((performance.now() - t) / 1000);
    }
  }

  get changed(): boolean {
    return this.unsaved;
  }

  get observations(): number {
    return this.count;
  }

  toJSON(): string {
    this.unsaved = false;
    const state: HistogramState = { le: this.le, counts: this.counts, sum: this.sum, count: this.count };
    return JSON.stringify(state);
  }
}

/** A saved histogram read back, or null when absent or not one (a reader never trusts the bytes blindly). */
export function parseHistogram(json: string | null | undefined): HistogramState | null {
  if (!json) return null;
  try {
    const h = JSON.parse(json) as HistogramState;
    const ok = Array.isArray(h.le) && Array.isArray(h.counts) && h.counts.length === h.le.length + 1 && typeof h.sum === "number" && typeof h.count === "number";
    return ok ? h : null;
  } catch {
    return null;
  }
}
