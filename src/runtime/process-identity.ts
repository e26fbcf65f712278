// Which process a claim names (db/writer-lock.ts), told apart from a later process that got the
// same PID: the boot it runs in and its start time in clock ticks since that boot, both from
// Linux's /proc. Elsewhere both are null and the PID alone decides, as before. The wall clock is
// never used: it may step (NTP on a machine without a clock) while a holder is alive.

import { readFileSync } from "node:fs";

let boot: string | null | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), or null where there is none. Read once. */
export function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot;
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or null
 * when it cannot be read: no /proc, no such process, or one /proc hides (hidepid).
 */
export function processStartTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // the command name (field 2) is in parentheses and may hold spaces or ')': fields 3 on follow the last ')'
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[22 - 3]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

let own: { bootId: string | null; startTicks: number | null } | undefined;

/** This process's identity, as its claims record it (read once: an exec keeps both). */
export function ownIdentity(): { bootId: string | null; startTicks: number | null } {
  return (own ??= { bootId: bootId(), startTicks: processStartTicks(process.pid) });
}

/** A claim's holder, as its row records it. */
export interface Holder {
  pid: number;
  boot_id?: string | null;
  start_ticks?: number | null;
}

/**
 * Whether the process a claim names runs on this host now: not when the claim comes from another
 * boot, nor when its PID now belongs to a process that started at another time.
 */
export function holderAlive(h: Holder): boolean {
  const thisBoot = bootId();
  if (h.boot_id && thisBoot && h.boot_id !== thisBoot) return false;
  if (h.start_ticks !== null && h.start_ticks !== undefined) {
    const ticks = processStartTicks(h.pid);
    if (ticks !== null) return ticks === h.start_ticks;
  }
  return pidAlive(h.pid);
}

/** Whether any process has this PID (signal 0; EPERM: one of another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
