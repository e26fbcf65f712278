// A first index of a large tree: the parsed files are held in memory, and then written in one
// transaction that drops the indexes of turns and invocations, appends the rows in id order, and
// builds the indexes once, sorted. Keeping five indexes up at every insert (two of them unique, on
// random ids) cost several times what the rows themselves did; so does binding one statement
// per row, hence the multi-row inserts.
//
// The rows are settled here by the same rules the writer's statements apply, file by file and in
// file order: one turn per (message id, request id), a main-chain copy beating a sidechain replay
// and then the larger total; the first tool use of an id; a result marking the tool uses read up
// to its file. The ids come out as the one-by-one writes would give them, so the two paths make
// the same index (test/deep-index.test.ts compares them).
//
// Nothing of the rows is committed before the end: a kill loses the run, never half of it. The
// agent_files rows of the planned files are committed earlier with indexed_offset 0, so the next
// run reads those files again from the start.

import type { Database } from "bun:sqlite";
import { SearchIndexBuild } from "../archive/search-index-build";
import { withRollbackJournal } from "../db/settings";
import type { FileProgress, FileTarget, IndexWriter } from "./index-writer";
import { Invocation, Result, Turn, type InvocationRow, type ParsedFile, type ResultRow, type TurnRow } from "./file-parser";

/** Log bytes held in memory before a bulk load writes what it has (and the run goes on one file at a time). */
export const BULK_LIMIT_BYTES = 2 * 1024 ** 3;

/** Rows per multi-row INSERT: fewer statements to step, the same values bound. */
const ROWS_PER_INSERT = 64;

/** The columns of a turns row as the bulk load appends it; TurnColumn names its slots. */
const TURN_COLUMNS = ["id", "session_id", "seq", "message_id", "request_id", "model", "at", "input_tokens", "output_tokens", "cache_read_tokens",
  "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "total_tokens", "service_tier", "stop_reason", "is_sidechain", "file_id", "byte_offset"];
const enum TurnColumn { id, sessionId, seq, messageId, requestId, model, at, input, output, cacheRead, cacheWrite5m, cacheWrite1h, reasoning, total, serviceTier, stopReason, sidechain, fileId, offset }

/** The columns of an invocations row as the bulk load appends it; InvocationColumn names its slots. */
const INVOCATION_COLUMNS = ["id", "session_id", "turn_id", "at", "kind", "name", "tool_use_id", "is_error", "file_id", "byte_offset"];
const enum InvocationColumn { id, sessionId, turnId, at, kind, name, toolUseId, isError, fileId, offset }

/** True when the deep index holds no calls or tool uses yet: a first index. */
export function deepIndexEmpty(db: Database): boolean {
  return (db.query("SELECT NOT EXISTS (SELECT 1 FROM turns) AND NOT EXISTS (SELECT 1 FROM invocations) AS empty").get() as { empty: number }).empty === 1;
}

interface HeldFile {
  target: FileTarget;
  parsed: ParsedFile;
  /** How far the file was read: saved in the same transaction as the rows. */
  progress: FileProgress;
}

export class BulkLoad {
  private readonly files: HeldFile[] = [];
  bytes = 0;

  constructor(
    private readonly db: Database,
    private readonly writer: IndexWriter,
  ) {}

  add(target: FileTarget, parsed: ParsedFile, bytes: number, progress: FileProgress) {
    this.files.push({ target, parsed, progress });
    this.bytes += bytes;
  }

  get full(): boolean {
    return this.bytes >= BULK_LIMIT_BYTES;
  }

  /**
   * Writes everything held, in one transaction; the caller has none open. The search index, when
   * the archive's messages wait for it, is built by a worker thread meanwhile and copied in by a
   * second transaction (search-index-build.ts): until that commits it stays marked pending, and a
   * kill between the two leaves it to the next run's rebuild.
   */
  write() {
    const search = this.writer.archive.searchIndexApart() ? SearchIndexBuild.start(this.db) : null;
    try {
      const { turns, invocations } = this.settle();
      withRollbackJournal(this.db, () => {
        // the worker's one read of the database is over before anything here is written
        const apart = search?.waitRead() === true;
        this.db.transaction(() => this.writeRows(turns, invocations, apart)).immediate();
        if (!apart) return;
        // attached only here: outside, a change of journal mode would change the build file's too
        const built = search!.attachWhenBuilt(this.db);
        try {
          this.db.transaction(() => this.writer.archive.searchIndexFrom(built ? search : null)).immediate();
        } finally {
          search!.detach(this.db);
        }
      });
    } finally {
      search?.dispose();
    }
    this.files.length = 0;
    this.bytes = 0;
  }

  private writeRows(turns: unknown[][], invocations: unknown[][], searchIndexApart: boolean) {
    const indexes = this.dropIndexes();
    insertRows(this.db, "turns", TURN_COLUMNS, turns);
    insertRows(this.db, "invocations", INVOCATION_COLUMNS, invocations);
    for (const { sql } of indexes) this.db.run(sql);
    this.writer.archive.rebuildSearchIndexIfPending(searchIndexApart);
    for (const f of this.files) {
      this.writer.writeSessionFacts(f.target, f.parsed);
      this.writer.saveProgress(f.progress);
    }
    this.writer.sumEverything();
  }

  /** The rows the one-by-one writes would leave, with their ids, from the files in order. */
  private settle(): { turns: unknown[][]; invocations: unknown[][] } {
    const turns: unknown[][] = [];
    /** (message id, request id) -> its row in `turns` */
    const calls = new Map<string, unknown[]>();
    const invocations: unknown[][] = [];
    /** tool use id -> its row in `invocations` */
    const toolUses = new Map<string, unknown[]>();
    for (const { target, parsed } of this.files) {
      const { sessionId, fileId } = target;
      if (!parsed.session) continue;
      for (const t of parsed.turns) {
        const row = turnRow(turns.length + 1, sessionId, fileId, t);
        if (t[Turn.messageId] === null) {
          turns.push(row);
          continue;
        }
        const key = `${t[Turn.messageId]}\n${t[Turn.requestId]}`;
        const prev = calls.get(key);
        if (!prev) {
          calls.set(key, row);
          turns.push(row);
        } else if (t[Turn.sidechain] < (prev[TurnColumn.sidechain] as number) || (t[Turn.sidechain] === prev[TurnColumn.sidechain] && t[Turn.total] > (prev[TurnColumn.total] as number))) {
          // the upsert's update: every column but the id, and a stop reason once seen stays
          row[TurnColumn.id] = prev[TurnColumn.id];
          if (row[TurnColumn.stopReason] === null) row[TurnColumn.stopReason] = prev[TurnColumn.stopReason];
          prev.splice(0, row.length, ...row);
        }
      }
      if (parsed.invocationsJson) {
        for (const i of JSON.parse(parsed.invocationsJson) as InvocationRow[]) {
          const toolUseId = i[Invocation.toolUseId];
          if (toolUseId !== null && toolUses.has(toolUseId)) continue; // INSERT OR IGNORE
          const turn = i[Invocation.messageId] === null ? undefined : calls.get(`${i[Invocation.messageId]}\n${i[Invocation.requestId]}`);
          const row = invocationRow(invocations.length + 1, sessionId, turn ? (turn[TurnColumn.id] as number) : null, fileId, i);
          invocations.push(row);
          if (toolUseId !== null) toolUses.set(toolUseId, row);
        }
      }
      if (parsed.resultsJson) {
        for (const result of JSON.parse(parsed.resultsJson) as ResultRow[]) {
          const row = toolUses.get(result[Result.toolUseId]);
          if (row) row[InvocationColumn.isError] = result[Result.failed] ? 1 : (row[InvocationColumn.isError] ?? 0);
        }
      }
    }
    return { turns, invocations };
  }

  /** Drops the indexes of turns and invocations; returns their definitions, to build them again. */
  private dropIndexes(): Array<{ name: string; sql: string }> {
    const indexes = this.db
      .query("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('turns', 'invocations') ORDER BY name")
      .all() as Array<{ name: string; sql: string }>;
    for (const { name } of indexes) this.db.run(`DROP INDEX "${name.replace(/"/g, '""')}"`);
    return indexes;
  }
}

/** A parsed turn as a turns row (TURN_COLUMNS), with its id, session and file. */
function turnRow(id: number, sessionId: number, fileId: number, t: TurnRow): unknown[] {
  return [id, sessionId, t[Turn.seq], t[Turn.messageId], t[Turn.requestId], t[Turn.model], t[Turn.at], t[Turn.input], t[Turn.output], t[Turn.cacheRead],
    t[Turn.cacheWrite5m], t[Turn.cacheWrite1h], t[Turn.reasoning], t[Turn.total], t[Turn.serviceTier], t[Turn.stopReason], t[Turn.sidechain], fileId, t[Turn.offset]];
}

/** A parsed tool use as an invocations row (INVOCATION_COLUMNS); is_error is set by the results. */
function invocationRow(id: number, sessionId: number, turnId: number | null, fileId: number, i: InvocationRow): unknown[] {
  return [id, sessionId, turnId, i[Invocation.at], i[Invocation.kind], i[Invocation.name], i[Invocation.toolUseId], null, fileId, i[Invocation.offset]];
}

/** Appends rows (in id order) with multi-row INSERTs. */
function insertRows(db: Database, table: string, columns: string[], rows: unknown[][]) {
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  const sql = (n: number) => `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array(n).fill(tuple).join(", ")}`;
  const many = db.prepare(sql(ROWS_PER_INSERT));
  const values: unknown[] = new Array(ROWS_PER_INSERT * columns.length);
  let r = 0;
  for (; r + ROWS_PER_INSERT <= rows.length; r += ROWS_PER_INSERT) {
    let k = 0;
    for (let j = r; j < r + ROWS_PER_INSERT; j++) for (const v of rows[j]!) values[k++] = v;
    many.run(...(values as never[]));
  }
  if (r < rows.length) {
    const rest = rows.slice(r);
    db.prepare(sql(rest.length)).run(...(rest.flat() as never[]));
  }
}
