// The progress line on a terminal, and the peak RSS figure for the summary.

import { readFileSync } from "node:fs";

/** A "kB" field of /proc/self/status (Linux) in bytes, or null elsewhere. */
export function procStatusBytes(field: "VmHWM" | "VmRSS" | "RssFile"): number | null {
  if (process.platform !== "linux") return null;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Peak resident set size of this process (all threads) in bytes. */
export function peakRssBytes(): number {
  return procStatusBytes("VmHWM") ?? process.resourceUsage().maxRSS * 1024;
}

/** Current resident set size in bytes (on macOS what `ps` reports, through the runtime). */
export function rssBytes(): number {
  return procStatusBytes("VmRSS") ?? process.memoryUsage.rss();
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return "?";
  if (secs < 60) return `${secs.toFixed(0)}s`;
  const m = Math.floor(secs / 60);
  if (m < 60) return `${m}m${String(Math.round(secs % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

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
    process.stderr.write(
      `\r\x1b[K${label}${lines.toLocaleString("en-US")} lines  ${(doneBytes / 1e6).toFixed(0)} MB${pct}  ${Math.round(lines / Math.max(secs, 1e-3)).toLocaleString("en-US")} lines/s  ${(rate / 1e6).toFixed(0)} MB/s  ETA ${formatDuration(eta)}`,
    );
    this.shown = true;
  }

  message(text: string) {
    if (!this.enabled) return;
    process.stderr.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  done() {
    if (this.shown) process.stderr.write("\r\x1b[K");
    this.shown = false;
  }
}
