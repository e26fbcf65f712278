// Batching: the rows a push sends, read from SQLite a batch at a time as one CSV string each
// (SQLite builds the lines and joins them: no JavaScript per row), and streamed into PostgreSQL's
// COPY. Reading the next batch overlaps with the server storing the last one.

import type { Database } from "bun:sqlite";
import type { TransactionSQL } from "bun";
import { csvField, csvLineSql, PUSH_TABLES, type PushTable } from "./tables";

export interface Batch {
  rows: number;
  text: string;
}

/** Rows per batch (SLUICE_PUSH_BATCH_ROWS: the tests make batches small to have more moments to kill a push at). */
export function batchRows(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.SLUICE_PUSH_BATCH_ROWS);
  return Number.isSafeInteger(n) && n > 0 ? n : 20_000;
}

const FIRST = Number.MIN_SAFE_INTEGER;

/** Pages a query of (c, line) rows by c: `?1` the last c read, `?2` the page size. */
function* paged(db: Database, inner: string, limit: number, extra: unknown[] = []): Generator<Batch> {
  const page = db.query(`SELECT max(c) AS last, count(*) AS n, group_concat(line, '') AS text FROM (${inner} ORDER BY c LIMIT ?2)`);
  for (let after: number = FIRST; ; ) {
    const r = page.get(after, limit, ...(extra as never[])) as { last: number | null; n: number; text: string | null };
    if (r.n) yield { rows: r.n, text: r.text! };
    if (r.n < limit || limit < 0 || r.last === null) return;
    after = r.last;
  }
}

/** Every local row of a table. */
export function* allRows(db: Database, t: PushTable, device: number, withArchive: boolean, limit: number): Generator<Batch> {
  const line = csvLineSql(t, device, withArchive);
  if (t.cursor === null) {
    const r = db.query(`SELECT count(*) AS n, group_concat(line, '') AS text FROM (SELECT ${line} AS line FROM ${t.from})`).get() as { n: number; text: string | null };
    if (r.n) yield { rows: r.n, text: r.text! };
    return;
  }
  yield* paged(db, `SELECT ${t.cursor} AS c, ${line} AS line FROM ${t.from} WHERE ${t.cursor} > ?1`, limit);
}

/**
 * The local rows of a table whose log entries are in (from, to]: a row deleted since has none. A
 * bucket's entry stands for all its rows, so the buckets are read in one page.
 */
export function* changedRows(db: Database, t: PushTable, device: number, withArchive: boolean, from: number, to: number, limit: number): Generator<Batch> {
  const inner = `SELECT l.seq AS c, ${csvLineSql(t, device, withArchive)} AS line FROM push_log AS l INDEXED BY push_log_by_seq, ${t.from}
                 WHERE l.seq > max(?1, ?3) AND l.seq <= ?4 AND l.tbl = ${t.code} AND ${t.logKey} = l.row_key`;
  yield* paged(db, inner, t.name === "usage_buckets" ? -1 : limit, [from, to]);
}

/**
 * Per table, an entry's (id, key) as CSV: a rowid table's id and the natural key of the row that
 * has it now (none when it was deleted), a keyed table's key.
 */
const ENTRY_FIELDS = `CASE tbl ${PUSH_TABLES.map((t) => {
  if (t.kind === "keyed") return `WHEN ${t.code} THEN ',' || ${csvField("text", "row_key")}`;
  const key = t.keyExpr ? csvField("text", `(SELECT ${t.keyExpr} FROM ${t.from} WHERE x.id = row_key)`) : "''";
  return `WHEN ${t.code} THEN CAST(row_key AS INTEGER) || ',' || ${key}`;
}).join(" ")} END`;

/** The log entries in (from, to] as CSV for the store's temporary table push_changed (tbl, id, key): what changed, deleted rows too. */
export function* changedEntries(db: Database, from: number, to: number, limit: number): Generator<Batch> {
  const line = `tbl || ',' || ${ENTRY_FIELDS} || char(10)`;
  yield* paged(db, `SELECT seq AS c, ${line} AS line FROM push_log INDEXED BY push_log_by_seq WHERE seq > max(?1, ?3) AND seq <= ?4`, limit, [from, to]);
}

/**
 * Streams batches into `COPY target (columns) FROM STDIN`; returns the rows sent. Opens no COPY
 * when there is nothing to send. PostgreSQL text cannot hold NUL, which JSON can: it is dropped.
 */
export async function copyIn(tx: TransactionSQL, target: string, columns: string[], batches: Iterable<Batch>): Promise<number> {
  const it = batches[Symbol.iterator]();
  let next = it.next();
  if (next.done) return 0;
  const writer = tx.unsafe(`COPY ${target} (${columns.join(", ")}) FROM STDIN (FORMAT csv)`).writable().getWriter();
  let rows = 0;
  try {
    for (; !next.done; next = it.next()) {
      const { text } = next.value;
      rows += next.value.rows;
      await writer.ready;
      await writer.write(text.includes("\0") ? text.replaceAll("\0", "") : text);
    }
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => {});
    throw err;
  }
  return rows;
}
