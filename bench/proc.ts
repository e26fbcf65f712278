// Readings of another process from /proc (Linux), shared by the live benchmark and the stress test,
// and a command's own peak RSS, for the benchmarks of short commands.

import { existsSync, readFileSync } from "node:fs";

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

const GNU_TIME = "/usr/bin/time";

/**
 * A command's own peak RSS in MB, as GNU time reports it (`/usr/bin/time -f %M`), or null where
 * there is no GNU time (Debian's package "time"). Not Bun's resourceUsage().maxRSS: a child that
 * Bun starts runs in the parent's memory until its exec (posix_spawn), and the kernel carries that
 * high-water mark over the exec, so every short command a 356 MB benchmark ran showed 356 MB. GNU
 * time forks the command from its own 2 MB.
 */
export async function peakRssMb(cmd: string[], o: { stdin?: string; env?: Record<string, string> } = {}): Promise<number | null> {
  if (!existsSync(GNU_TIME)) return null;
  const p = Bun.spawn([GNU_TIME, "-f", "peak-rss-kb %M", ...cmd], {
    stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, ...o.env },
  });
  const [err] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  const m = /peak-rss-kb (\d+)\s*$/.exec(err);
  return m ? Number(m[1]) / 1024 : null;
}

/** The median of `runs` readings of peakRssMb, as text: "43.1 MB", or "n/a" without GNU time. */
export async function medianPeakRss(cmd: string[], o: { stdin?: string; env?: Record<string, string> } = {}, runs = 3): Promise<string> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const mb = await peakRssMb(cmd, o);
    if (mb === null) return "n/a (no /usr/bin/time)";
    xs.push(mb);
  }
  return `${quantile(xs, 0.5).toFixed(1)} MB`;
}
