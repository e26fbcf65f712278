// Standard input for the live tail. A blocking read would stop timers and signals, so an async pump
// moves chunks from `Bun.stdin.stream()` into a queue, and the LineReader takes bytes from the
// queue without waiting.

import { Waker } from "./waker";

export class ChunkQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0; // bytes of chunks[0] already taken
  private readonly waker = new Waker();
  /** The stream ended: nothing more will be pushed. */
  ended = false;
  /** Total bytes pushed so far. */
  received = 0;
  lastDataAt = performance.now();

  push(chunk: Uint8Array) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.received += chunk.length;
    this.lastDataAt = performance.now();
    this.waker.wake();
  }

  end() {
    this.ended = true;
    this.waker.wake();
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** Copies up to `length` queued bytes into buf at offset; 0 when the queue is empty. */
  read(buf: Uint8Array, offset: number, length: number): number {
    let n = 0;
    while (n < length && this.chunks.length) {
      const c = this.chunks[0]!;
      const take = Math.min(length - n, c.length - this.headOffset);
      buf.set(c.subarray(this.headOffset, this.headOffset + take), offset + n);
      n += take;
      this.headOffset += take;
      if (this.headOffset === c.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    }
    return n;
  }

  /** Resolves when data arrives, the stream ends, `poke` is called, or after `ms`. */
  async wait(ms: number): Promise<void> {
    if (!this.empty || this.ended) return;
    await this.waker.wait(ms);
  }

  poke() {
    this.waker.wake();
  }
}

/** Starts pumping stdin into a queue; the queue is marked ended when stdin closes. */
export function pumpStdin(queue: ChunkQueue): Promise<void> {
  return (async () => {
    try {
      for await (const chunk of Bun.stdin.stream()) queue.push(chunk);
    } finally {
      queue.end();
    }
  })();
}
