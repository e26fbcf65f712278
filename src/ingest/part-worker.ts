// A worker thread of a parallel backfill. It ingests the chunks (byte ranges of whole lines) it is
// handed, each into a part database of its own, and says when each is done. Only small messages
// cross threads (chunk assignments, totals), never rows.

import { EnvelopeExtractor } from "../extract/envelope";
import { createPartDatabase } from "./parts";
import { SseWriter } from "./sse-writer";
import { LineReader } from "../input/line-reader";
import { ingestLines } from "./line-loop";

/** One chunk to ingest into its own part database. */
export interface ChunkJob {
  index: number;
  /**
   * The input, open in the main thread: worker threads share the process's descriptors, and the
   * path may no longer name the file (deleted or rotated during the backfill).
   */
  fd: number;
  partDb: string;
  start: number;
  end: number;
  idBase: number;
  fileId: number;
  ddl: string[];
  pageSize: number;
  maxLine: number;
}

export type ChunkResult =
  /** `tail`: the tail fingerprint of the chunk's end, from the bytes just read (null if not in memory). */
  | { type: "done"; index: number; rows: number; rejects: number; slowPath: number; tail: string | null }
  | { type: "error"; index: number; message: string };

declare const self: Worker;

// One extractor for all of this worker's chunks, so its caches stay warm.
const extractor = new EnvelopeExtractor();

self.onmessage = (event: MessageEvent<ChunkJob>) => {
  const job = event.data;
  try {
    const slowBefore = extractor.slowPathLines;
    const db = createPartDatabase(job.partDb, job.ddl, job.pageSize);
    const fd = job.fd;
    try {
      // A part is merged whole, so it commits once, at the end.
      const writer = new SseWriter(db, job.fileId, job.idBase, job.start, { rows: Infinity, ms: Infinity }, null);
      const reader = new LineReader(fd, job.start, { maxLine: job.maxLine, endOffset: job.end }, (o) => writer.reject(o.offset, o.length, "longer than --max-line", o.head));
      ingestLines(reader, extractor, writer);
      writer.close(job.end);
      const tail = reader.tailFingerprint(job.end);
      postMessage({ type: "done", index: job.index, rows: writer.rows, rejects: writer.rejects, slowPath: extractor.slowPathLines - slowBefore, tail } satisfies ChunkResult);
    } finally {
      db.close();
    }
  } catch (err) {
    postMessage({ type: "error", index: job.index, message: (err as Error).message } satisfies ChunkResult);
  }
};
