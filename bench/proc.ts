// Readings of another process from /proc (Linux), shared by the live benchmark and the stress test.

import { readFileSync } from "node:fs";

/** Resident set size in kB. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** CPU time used so far (user + system) in clock ticks (1/100 s). */
export function cpuTicks(pid: number): number {
  // fields after the ")" of the command name: state is the first, utime the 12th, stime the 13th
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}
