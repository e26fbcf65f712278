// The progress line on a terminal: lines, MB, rate and ETA, redrawn in place on stderr.

import { count, duration, megabytes } from "./format";
import { writeErr } from "./stdio";

/** Redraws one status line on stderr at most every 250 ms, when stderr is a terminal. */
export class ProgressLine {
  private last = 0;
  private readonly started = performance.now();
  private shown = false;
  constructor(
    private readonly enabled: boolean,
    private readonly totalBytes: number,
  ) {}

  update(doneBytes: number, lines: number, label = "") {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 250) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const rate = doneBytes / Math.max(secs, 1e-3);
    const eta = this.totalBytes > doneBytes && rate > 0 ? (this.totalBytes - doneBytes) / rate : 0;
    const pct = this.totalBytes > 0 ? ` ${((100 * doneBytes) / this.totalBytes).toFixed(1)}%` : "";
    writeErr(
      `\r\x1b[K${label}${count(lines)} lines  ${megabytes(doneBytes)} MB${pct}  ${count(lines / Math.max(secs, 1e-3))} lines/s  ${megabytes(rate)} MB/s  ETA ${duration(eta)}`,
    );
    this.shown = true;
  }

  message(text: string) {
    if (!this.enabled) return;
    writeErr(`\r\x1b[K${text}`);
    this.shown = true;
  }

  done() {
    if (this.shown) writeErr("\r\x1b[K");
    this.shown = false;
  }
}
