// --start-offset: where a run starts instead of the committed offset. It must be a line start and
// never before the committed offset, or lines would be ingested twice.

import type { ConsolaInstance } from "consola";
import { readSync } from "node:fs";
import { SluiceError } from "../runtime/errors";

export function checkStartOffset(fd: number, n: number, size: number, committed: number, log: ConsolaInstance): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new SluiceError(`--start-offset ${n} is not a byte offset; pass a whole number >= 0`);
  if (n > size) throw new SluiceError(`--start-offset ${n} is past the end of the input (${size} bytes); pass an offset inside the file`);
  if (n > 0) {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, n - 1);
    if (b[0] !== 10) throw new SluiceError(`--start-offset ${n} is not at a line start (byte ${n - 1} is not a newline); pass the offset of a line's first byte`);
  }
  if (n < committed) {
    throw new SluiceError(`--start-offset ${n} would ingest bytes ${n}..${committed} a second time (they are committed); omit --start-offset to resume, or pass --from-scratch`);
  }
  if (n > committed) log.warn(`starting at byte ${n}: bytes ${committed}..${n} of the input are skipped`);
  return n;
}
