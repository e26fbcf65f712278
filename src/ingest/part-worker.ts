// A worker thread of a parallel backfill: ingests one byte range of the file into a part database.
// Only small messages cross threads (the job, progress offsets, totals), never rows.

import { closeSync, openSync } from "node:fs";
import { EnvelopeExtractor } from "../extract/envelope";
import { createPartDatabase } from "../db/parts";
import { SseWriter } from "../db/sse-writer";
import { LineReader } from "../input/line-reader";
import { ingestLines } from "./line-loop";

export interface PartJob {
  file: string;
  partDb: string;
  start: number;
  end: number;
  idBase: number;
  fileId: number;
  ddl: string[];
  pageSize: number;
  maxLine: number;
  batchRows: number;
}

export type PartMessage =
  | { type: "progress"; offset: number }
  | { type: "done"; rows: number; rejects: number; slowPath: number }
  | { type: "error"; message: string };

declare const self: Worker;

self.onmessage = (event: MessageEvent<PartJob>) => {
  const job = event.data;
  try {
    const db = createPartDatabase(job.partDb, job.ddl, job.pageSize);
    const fd = openSync(job.file, "r");
    const extractor = new EnvelopeExtractor();
    // Parts commit by size only: nobody reads them before the merge.
    const writer = new SseWriter(db, job.fileId, job.idBase, job.start, { rows: job.batchRows, ms: Infinity }, null);
    const reader = new LineReader(fd, job.start, { maxLine: job.maxLine, endOffset: job.end }, (o) => writer.reject(o.offset, o.length, "longer than --max-line", o.head));
    let lastReport = 0;
    ingestLines(reader, extractor, writer, (offset) => {
      const now = performance.now();
      if (now - lastReport > 250) {
        lastReport = now;
        postMessage({ type: "progress", offset } satisfies PartMessage);
      }
    });
    writer.close(job.end);
    closeSync(fd);
    db.close();
    postMessage({ type: "done", rows: writer.rows, rejects: writer.rejects, slowPath: extractor.slowPathLines } satisfies PartMessage);
  } catch (err) {
    postMessage({ type: "error", message: (err as Error).message } satisfies PartMessage);
  }
};
