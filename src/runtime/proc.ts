// The process's own memory, read from /proc/self/status on Linux (the runtime's figures elsewhere).

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
