// A worker thread of a large index run: parses the files it is sent (file-parser.ts) and posts
// back the rows, while the main thread writes those of the files before.

import { parseFile, type ParseJob, type ParsedFile } from "./file-parser";

export type ParseReply = { id: number; parsed: ParsedFile } | { id: number; error: string };

declare const self: Worker;

self.onmessage = (event: MessageEvent<ParseJob & { id: number }>) => {
  const { id, ...job } = event.data;
  try {
    postMessage({ id, parsed: parseFile(job) } satisfies ParseReply);
  } catch (err) {
    postMessage({ id, error: (err as Error).message } satisfies ParseReply);
  }
};
