// Gives back the pages of the executable that only startup needed. A compiled sluice maps a 100 MB
// binary; starting touches about 35 MB of it, most of which the live tail never runs again, yet
// they stay counted in its RSS. MADV_PAGEOUT (Linux 5.4+) asks the kernel to reclaim them now:
// they are clean file pages, so nothing is lost, and a page still in use faults back in from the
// page cache. Read-only mappings only; anything that fails is left as it was.
//
// bun:ffi needs the JIT, so this only runs when the live image keeps it (BUN_JSC_useJIT=1); the
// default JIT-less image carries those pages (about 14 MB more than an idle binary).

import { dlopen, FFIType } from "bun:ffi";
import { readFileSync } from "node:fs";
import { jitDisabled } from "../extract/envelope";

const MADV_PAGEOUT = 21;

export function releaseStartupPages(): number {
  if (process.platform !== "linux" || jitDisabled()) return 0;
  let madvise: (addr: number, len: number, advice: number) => number;
  try {
    const libc = dlopen("libc.so.6", { madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });
    madvise = (a, l, adv) => libc.symbols.madvise(a, l, adv) as number;
  } catch {
    return 0;
  }
  let released = 0;
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    // address perms offset dev inode path
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s+(\/\S.*)$/.exec(line);
    if (!m || m[3]!.includes("w") || m[4] === "0") continue; // file-backed, never written
    const start = parseInt(m[1]!, 16), end = parseInt(m[2]!, 16);
    if (madvise(start, end - start, MADV_PAGEOUT) === 0) released += end - start;
  }
  return released;
}
