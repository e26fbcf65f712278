// The parallel half of a backfill: worker threads ingest chunks of the file into part databases,
// handed out on demand, while this thread merges the parts into the main database strictly in file
// order, each as soon as it is ready, while it is still in the page cache. Every merge moves the
// committed offset to its chunk's end in the same transaction, so the committed rows are always a
// prefix of the file. A stop signal ends it between merges: the workers are stopped, their parts
// deleted, and the committed offset is the end of the last chunk merged.

import type { Database } from "bun:sqlite";
import { tailFingerprintOf } from "../input/file-identity";
import { workerPath } from "../runtime/paths";
import { SluiceError, EXIT_FAILURE } from "../runtime/errors";
import type { StopRequest } from "../runtime/signals";
import { mergePart, partPath, partTableDdl, removePart } from "./parts";
import type { Range } from "./plan";
import type { ChunkJob, ChunkResult } from "./part-worker";

export interface ParallelInput {
  db: Database;
  dbPath: string;
  /** The input file's descriptor (see ChunkJob.fd). */
  fd: number;
  sourceId: number;
  idBase: number;
  chunks: Range[];
  jobs: number;
  maxLine: number;
  /** Called about every 250 ms and after every merge with the committed offset and totals. */
  onProgress: (committedOffset: number, lines: number) => void;
  /** A stop signal: no merge after it; the parts not merged are deleted. */
  stop: StopRequest;
}

export interface ParallelTotals {
  rows: number;
  rejects: number;
  slowPath: number;
  /** The committed offset: the end of the last chunk merged (all of them unless stopped). */
  end: number;
}

/** How long a stopped worker may take to end before its part is deleted anyway. */
const WORKER_END_MS = 2000;

/** Parts written but not merged yet, per worker: enough to keep workers busy, few enough to stay hot. */
const LOOKAHEAD_PER_WORKER = 2;

export async function ingestChunksInParallel(p: ParallelInput): Promise<ParallelTotals> {
  const ddl = partTableDdl(p.db);
  const pageSize = (p.db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  const totals: ParallelTotals = { rows: 0, rejects: 0, slowPath: 0, end: p.chunks[0]!.start };
  const results = new Map<number, ChunkResult>();
  let wake: (() => void) | null = null;
  let nextToAssign = 0;
  let merged = 0;
  const workers: Worker[] = [];
  const idle: Worker[] = [];

  const assign = (w: Worker) => {
    if (nextToAssign >= p.chunks.length || nextToAssign - merged >= LOOKAHEAD_PER_WORKER * workers.length) {
      idle.push(w);
      return;
    }
    const index = nextToAssign++;
    const c = p.chunks[index]!;
    const job: ChunkJob = { index, fd: p.fd, partDb: partPath(p.dbPath, index), start: c.start, end: c.end, idBase: p.idBase, fileId: p.sourceId, ddl, pageSize, maxLine: p.maxLine };
    w.postMessage(job);
  };

  // a stop signal wakes the wait for the next part at once
  void p.stop.whenStopped().then(() => wake?.());
  try {
    for (let i = 0; i < Math.min(p.jobs, p.chunks.length); i++) {
      const w = new Worker(workerPath("ingest/part-worker.ts"));
      w.onmessage = (e: MessageEvent<ChunkResult>) => {
        results.set(e.data.index, e.data);
        assign(w);
        wake?.();
      };
      w.onerror = (e) => {
        results.set(-1, { type: "error", index: -1, message: e.message });
        wake?.();
      };
      workers.push(w);
    }
    for (const w of workers) assign(w);

    let lines = 0;
    for (let k = 0; k < p.chunks.length && !p.stop.stopped; k++) {
      let r: ChunkResult | undefined;
      while (!(r = results.get(k) ?? (results.get(-1) as ChunkResult | undefined)) && !p.stop.stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 250);
        });
        wake = null;
      }
      if (!r || p.stop.stopped) break;
      const chunk = p.chunks[k]!;
      if (r.type === "error") throw new SluiceError(`ingesting bytes ${chunk.start}..${chunk.end} in a worker thread failed: ${r.message}; run again to resume from byte ${chunk.start}`, EXIT_FAILURE);
      results.delete(k);
      const m = mergePart(p.db, partPath(p.dbPath, k), p.sourceId, chunk.end, r.tail ?? tailFingerprintOf(p.fd, chunk.end));
      removePart(partPath(p.dbPath, k));
      merged++;
      totals.end = chunk.end;
      totals.rows += m.rows;
      totals.rejects += m.rejects;
      totals.slowPath += r.slowPath;
      lines += m.rows + m.rejects;
      p.onProgress(chunk.end, lines);
      // a merge makes room under the lookahead limit
      while (idle.length && nextToAssign < p.chunks.length && nextToAssign - merged < LOOKAHEAD_PER_WORKER * workers.length) assign(idle.pop()!);
    }
    return totals;
  } finally {
    await stopWorkers(workers, () => {
      for (let k = merged; k < p.chunks.length; k++) removePart(partPath(p.dbPath, k));
    });
  }
}

/**
 * Terminates the workers and deletes the parts not merged (`removeParts`), once at once and again
 * after the workers have ended: a worker that was just starting a chunk when it was told to stop
 * may still have created that chunk's part.
 */
async function stopWorkers(workers: Worker[], removeParts: () => void): Promise<void> {
  const ended = workers.map((w) => new Promise<void>((resolve) => w.addEventListener("close", () => resolve(), { once: true })));
  for (const w of workers) w.terminate();
  removeParts();
  let timer: Timer | undefined;
  await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, WORKER_END_MS)))]);
  clearTimeout(timer);
  removeParts();
}
