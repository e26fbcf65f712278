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

import type { Database, Statement } from "bun:sqlite";
import { withRollbackJournal } from "../db/settings";
import type { FileTarget, IndexWriter } from "./index-writer";
import type { InvocationRow, ParsedFile, TurnRow } from "./file-parser";

/** Log bytes held in memory before a bulk load writes what it has (and the run goes on one file at a time). */
export const BULK_LIMIT_BYTES = 2 * 1024 ** 3;

/** Rows per multi-row INSERT: fewer statements to step, the same values bound. */
const ROWS_PER_INSERT = 64;

const TURN_COLUMNS = ["id", "session_id", "seq", "message_id", "request_id", "model", "at", "input_tokens", "output_tokens", "cache_read_tokens",
  "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "total_tokens", "service_tier", "stop_reason", "is_sidechain", "file_id", "byte_offset"];
const INVOCATION_COLUMNS = ["id", "session_id", "turn_id", "at", "kind", "name", "tool_use_id", "is_error", "file_id", "byte_offset"];

/** True when the deep index holds no calls or tool uses yet: a first index. */
export function deepIndexEmpty(db: Database): boolean {
  return (db.query("SELECT NOT EXISTS (SELECT 1 FROM turns) AND NOT EXISTS (SELECT 1 FROM invocations) AS empty").get() as { empty: number }).empty === 1;
}

interface HeldFile {
  target: FileTarget;
  parsed: ParsedFile;
  /** The arguments of the indexer's agent_files update, run in the same transaction as the rows. */
  saveFile: unknown[];
}

export class BulkLoad {
  private readonly files: HeldFile[] = [];
  bytes = 0;

  constructor(
    private readonly db: Database,
    private readonly writer: IndexWriter,
    private readonly saveFile: Statement,
  ) {}

  add(target: FileTarget, parsed: ParsedFile, bytes: number, saveFile: unknown[]) {
    this.files.push({ target, parsed, saveFile });
    this.bytes += bytes;
  }

  get full(): boolean {
    return this.bytes >= BULK_LIMIT_BYTES;
  }

  /** Writes everything held, in one transaction; the caller has none open. */
  write() {
    const { turns, invocations } = this.settle();
    withRollbackJournal(this.db, () => this.db.transaction(() => {
      const indexes = this.dropIndexes();
      insertRows(this.db, "turns", TURN_COLUMNS, turns);
      insertRows(this.db, "invocations", INVOCATION_COLUMNS, invocations);
      for (const { sql } of indexes) this.db.run(sql);
      for (const f of this.files) {
        this.writer.writeSessionFacts(f.target, f.parsed);
        this.saveFile.run(...(f.saveFile as never[]));
      }
      this.writer.sumEverything();
    }).immediate());
    this.files.length = 0;
    this.bytes = 0;
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
        if (t[1] === null) {
          turns.push(row);
          continue;
        }
        const key = `${t[1]}\n${t[2]}`;
        const prev = calls.get(key);
        if (!prev) {
          calls.set(key, row);
          turns.push(row);
        } else if (t[14] < (prev[16] as number) || (t[14] === prev[16] && t[11] > (prev[13] as number))) {
          // the upsert's update: every column but the id, and a stop reason once seen stays
          row[0] = prev[0];
          if (row[15] === null) row[15] = prev[15];
          prev.splice(0, row.length, ...row);
        }
      }
      if (parsed.invocationsJson) {
        for (const i of JSON.parse(parsed.invocationsJson) as InvocationRow[]) {
          const toolUseId = i[5];
          if (toolUseId !== null && toolUses.has(toolUseId)) continue; // INSERT OR IGNORE
          const turn = i[0] === null ? undefined : calls.get(`${i[0]}\n${i[1]}`);
          const row = [invocations.length + 1, sessionId, turn ? turn[0] : null, i[2], i[3], i[4], toolUseId, null, fileId, i[6]];
          invocations.push(row);
          if (toolUseId !== null) toolUses.set(toolUseId, row);
        }
      }
      if (parsed.resultsJson) {
        for (const [toolUseId, failed] of JSON.parse(parsed.resultsJson) as Array<[string, 0 | 1]>) {
          const row = toolUses.get(toolUseId);
          if (row) row[7] = failed ? 1 : (row[7] ?? 0);
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

function turnRow(id: number, sessionId: number, fileId: number, t: TurnRow): unknown[] {
  return [id, sessionId, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14], fileId, t[15]];
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
