// A worker thread of a large index run: parses the files it is sent (file-parser.ts) and posts
// back the rows, while the main thread writes those of the files before.

import { parseFile, type ParseJob, type ParsedFile } from "./file-parser";

export type ParseReply = { id: number; parsed: ParsedFile } | { id: number; error: string };

declare const self: Worker;

self.onmessage = (event: MessageEvent<ParseJob & { id: number }>) => {
  const { id, ...job } = event.data;
  try {
    const parsed = parseFile(job);
    postMessage({ id, parsed } satisfies ParseReply, transferable(parsed));
  } catch (err) {
    postMessage({ id, error: (err as Error).message } satisfies ParseReply);
  }
};

/**
 * The archive's buffers, moved to the writer instead of copied: the compressed pieces (each
 * zstdCompressSync's own buffer) and the packed messages' numbers.
 */
function transferable(parsed: ParsedFile): ArrayBuffer[] {
  const a = parsed.archive;
  if (!a) return [];
  const whole = (u: Uint8Array | Float64Array) => u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer;
  const out: ArrayBuffer[] = [];
  for (const c of a.chunks) if (whole(c.data)) out.push(c.data.buffer as ArrayBuffer);
  if (a.messages && whole(a.messages.slots)) out.push(a.messages.slots.buffer as ArrayBuffer);
  return out;
}
