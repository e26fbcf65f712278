// A worker thread of a first index's bulk load: builds the messages' search index in a file of its
// own while the index's thread writes the calls, tool uses and their indexes, which then copies the
// index's tables in (search-index-build.ts). The two were one thread's work after the other.

import { Database } from "bun:sqlite";
import { BUSY_TIMEOUT_MS } from "../db/settings";
import { BULK_HASH_BYTES, BuildState, setHashBytes, type SearchIndexJob } from "./search-index-build";

declare const self: Worker;

self.onmessage = (event: MessageEvent<SearchIndexJob>) => {
  const job = event.data;
  const state = new Int32Array(job.state);
  const settle = (to: number) => {
    Atomics.store(state, 0, to);
    Atomics.notify(state, 0);
  };
  settle(BuildState.reading);
  try {
    build(job, () => settle(BuildState.read));
    settle(BuildState.built);
  } catch (err) {
    new TextEncoder().encodeInto(String((err as Error).message).slice(0, 400), new Uint8Array(job.error));
    settle(BuildState.failed);
  }
};

/**
 * Copies the messages' texts out of the database (its only read of it, so the writer's spills and
 * commit never wait for this thread), says so, and builds a contentless FTS5 table of them with
 * the database's own tokenizer and options.
 */
function build(job: SearchIndexJob, read: () => void) {
  const out = new Database(job.file, { readwrite: true, create: false });
  try {
    out.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    out.run("PRAGMA main.journal_mode = OFF"); // the build file's only: not the database attached below
    out.run("PRAGMA main.synchronous = OFF");
    out.run("ATTACH DATABASE ? AS source", [job.database]);
    out.run("CREATE TABLE texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
    out.run("INSERT INTO texts (id, text) SELECT id, text FROM source.messages ORDER BY id");
    out.run("DETACH DATABASE source");
    read();
    out.run(job.definition);
    setHashBytes(out, "search", BULK_HASH_BYTES);
    out.run("INSERT INTO search (rowid, text) SELECT id, text FROM texts");
    // the texts' pages are left to the file's removal: dropping them would write every freed page
  } finally {
    out.close();
  }
}
