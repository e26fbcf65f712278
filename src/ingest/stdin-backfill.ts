// stdin for a backfill (`sluice ingest -` without --follow). A blocking read of an idle pipe would
// hold a stop signal until input came, so stdin is read asynchronously (fs.read, off the main
// thread) into a queue that the line reader takes bytes from without waiting. The reads stop
// while STDIN_AHEAD_BYTES are queued: a backfill reads faster than it ingests. (Bun.stdin.stream(),
// which the live tail's pump uses, cost about 0.2 s more CPU per 40 MB in its stream machinery.)

import { read } from "node:fs";
import { ChunkQueue } from "../input/stdin";
import { Waker } from "../input/waker";

/** How far the reads may run ahead of the line reader. */
const STDIN_AHEAD_BYTES = 8 << 20;
/** Reads go into slabs of this size, handed to the queue as views: no copy and no allocation per read. */
const SLAB_BYTES = 1 << 20;
/** A non-blocking stdin with nothing in it: how long before it is read again. */
const EAGAIN_WAIT_MS = 5;

export class StdinAhead {
  private readonly queue = new ChunkQueue();
  private readonly room = new Waker();
  private taken = 0;
  /** A failed read of stdin, thrown to the line reader once the bytes before it are taken. */
  private failure: Error | null = null;

  constructor(private readonly fd = 0) {
    void this.pump();
  }

  /** The line reader's read: queued bytes, 0 when none are queued now. */
  read(buf: Uint8Array, offset: number, length: number): number {
    const n = this.queue.read(buf, offset, length);
    if (n === 0 && this.failure) throw this.failure;
    this.taken += n;
    if (n > 0) this.room.wake();
    return n;
  }

  /** stdin closed (or failed) and every byte of it was taken. */
  get done(): boolean {
    return this.queue.ended && this.queue.empty && !this.failure;
  }

  /** Resolves when bytes are queued, stdin closed, or after `ms`. */
  wait(ms: number): Promise<void> {
    return this.queue.wait(ms);
  }

  private async pump() {
    let slab = Buffer.allocUnsafe(SLAB_BYTES), used = 0;
    try {
      for (;;) {
        while (this.queue.received - this.taken >= STDIN_AHEAD_BYTES) await this.room.wait(1000);
        if (SLAB_BYTES - used < SLAB_BYTES / 4) (slab = Buffer.allocUnsafe(SLAB_BYTES)), (used = 0);
        const n = await readSome(this.fd, slab, used);
        if (n === 0) break;
        this.queue.push(slab.subarray(used, used + n));
        used += n;
      }
    } catch (err) {
      this.failure = err as Error;
      this.queue.poke();
    } finally {
      this.queue.end();
    }
  }
}

/** One read of the rest of `slab` from `fd` at its current position; waits out EAGAIN. */
async function readSome(fd: number, slab: Buffer, at: number): Promise<number> {
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) => read(fd, slab, at, slab.length - at, null, (err, n) => (err ? reject(err) : resolve(n))));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      await Bun.sleep(EAGAIN_WAIT_MS);
    }
  }
}
