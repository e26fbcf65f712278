// A worker thread that runs a few long SQL statements (VACUUM INTO, integrity_check) on its own
// connection, so the main thread stays free to show progress and to handle signals meanwhile.

import { Database } from "bun:sqlite";
import { BUSY_TIMEOUT_MS } from "../db/settings";

export interface SqlJob {
  dbPath: string;
  readonly: boolean;
  statements: Array<{ sql: string; params?: Array<string | number> }>;
}

export type SqlResult = { ok: true; rows: unknown[] } | { ok: false; message: string };

declare const self: Worker;

self.onmessage = (event: MessageEvent<SqlJob>) => {
  const job = event.data;
  let db: Database | null = null;
  try {
    db = new Database(job.dbPath, job.readonly ? { readonly: true } : { readwrite: true, create: false });
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    let rows: unknown[] = [];
    for (const s of job.statements) rows = db.query(s.sql).all(...(s.params ?? []));
    self.postMessage({ ok: true, rows } satisfies SqlResult);
  } catch (err) {
    self.postMessage({ ok: false, message: (err as Error).message } satisfies SqlResult);
  } finally {
    db?.close();
  }
};
