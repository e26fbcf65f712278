// Worker threads that parse agent log files (parse-worker.ts) while the indexer's thread writes.

import { workerPath } from "../runtime/paths";
import type { ParseJob, ParsedFile } from "./file-parser";
import type { ParseReply } from "./parse-worker";

/**
 * As many parse threads as cores, at most 3, beside the writing thread: on two cores, two parse
 * threads beat one (4.6 s against 5.0 s for the 1.1 GB benchmark corpus; 5.6 s with none), since
 * the writer waits on SQLite's I/O part of the time.
 */
export function defaultParseThreads(): number {
  return Math.max(1, Math.min(3, navigator.hardwareConcurrency));
}

/**
 * Worker threads that parse files (parse-worker.ts), each job answered by its id. A job goes to
 * whichever thread is free: file sizes run from 1 KB to 50 MB, and handing them out in turn left
 * one thread idle while the other parsed a big file.
 */
export class ParsePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Array<ParseJob & { id: number }> = [];
  private readonly waiting = new Map<number, { resolve: (p: ParsedFile) => void; reject: (e: Error) => void }>();
  private readonly workers: Worker[];
  private nextId = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(workerPath("deep-index/parse-worker.ts"));
      w.onmessage = (e: MessageEvent<ParseReply>) => {
        const r = e.data;
        const waiter = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        this.idle.push(w);
        this.dispatch();
        if ("error" in r) waiter?.reject(new Error(`parsing an agent log in a worker thread failed: ${r.error}`));
        else waiter?.resolve(r.parsed);
      };
      w.onerror = (e) => {
        for (const waiter of this.waiting.values()) waiter.reject(new Error(`a parse worker thread failed: ${e.message}`));
        this.waiting.clear();
      };
      this.idle.push(w);
      return w;
    });
  }

  parse(job: ParseJob): Promise<ParsedFile> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.queue.push({ ...job, id });
      this.dispatch();
    });
  }

  private dispatch() {
    while (this.idle.length && this.queue.length) this.idle.pop()!.postMessage(this.queue.shift()!);
  }

  close() {
    for (const w of this.workers) w.terminate();
  }
}
