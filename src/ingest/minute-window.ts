// The last minute of the ingester's progress, sampled at each heartbeat: lines per second and the
// growth of the lag are both taken over this window, so one slow second does not look like a trend.

const WINDOW_MS = 60_000;

interface Sample {
  at: number;
  lines: number;
  lag: number;
}

export class MinuteWindow {
  private samples: Sample[] = [];

  /** Adds a sample (time in ms, lines ingested so far, lag in bytes) and drops those over a minute old. */
  add(at: number, lines: number, lag: number) {
    this.samples.push({ at, lines, lag });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
  }

  /** Lines per second over the window; null until there are two samples. */
  linesPerS(): number | null {
    const first = this.samples[0], last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return null;
    return ((last.lines - first.lines) * 1000) / (last.at - first.at);
  }

  /** Lag now minus lag at the start of the window. */
  lagGrowth(): number | null {
    const first = this.samples[0], last = this.samples[this.samples.length - 1];
    return first && last && last !== first ? last.lag - first.lag : null;
  }
}
