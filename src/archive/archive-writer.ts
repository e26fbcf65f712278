// The archive's statements, prepared on first use and run by the deep index's one writer (index-writer.ts),
// in the transaction that holds the file's rows and its indexed offset: a file's archived end and
// its indexed offset move together, so a kill leaves them agreeing (docs/archive.md).

import type { Database } from "bun:sqlite";
import { REPACK_BELOW, type ArchivedBytes, type ArchiveJob } from "./chunks";
import { Message, unpackMessages } from "./messages";
import { lazyStatements } from "../db/statements";
import { BULK_HASH_BYTES, DEFAULT_HASH_BYTES, setHashBytes, type SearchIndexBuild } from "./search-index-build";

/** The latest generation of a file, as the plan reads it. */
export interface ArchiveState {
  generation: number;
  archived_to: number;
  hasTail: boolean;
}

const COLUMNS = "session_id, file_id, byte_offset, part, kind, role, at, model, tool, text, length, tool_use_id";
const MESSAGE_COLUMNS = 12;
/** Messages per INSERT: fewer statements to step, the same values bound. */
const ROWS_PER_INSERT = 32;

export class ArchiveWriter {
  /** Prepared on first use (db/statements.ts): a run that finds nothing changed prepares none. */
  private readonly st;
  /**
   * During a bulk load (the messages' indexes dropped): the files with messages from before it (a
   * killed run's) -> the range of their ids; null otherwise.
   */
  private bulkLeftovers: Map<number, [number, number]> | null = null;
  /** Set once this connection wrote to the search index (its triggers, a rebuild): searchIndexApart. */
  private searchIndexWritten = false;

  constructor(private readonly db: Database) {
    const into = (table: string) => `INSERT INTO ${table} (${COLUMNS}) VALUES `;
    const tuple = `(${Array(MESSAGE_COLUMNS).fill("?").join(", ")})`;
    const insert = into("messages"), stage = into("temp.new_messages");
    // the drop and the tool lookup by id range (dropMessagesIn, toolOfCallIn) serve a bulk load,
    // whose messages have no indexes: within the file's ids from before it
    this.st = lazyStatements(db, {
      current: "SELECT generation, archived_to, tail IS NOT NULL AND length(tail) > 0 AS hasTail FROM archive_generations WHERE file_id = ? ORDER BY generation DESC LIMIT 1",
      lastChunk: "SELECT start, length, data FROM archive_chunks WHERE file_id = ?1 AND generation = ?2 AND start < ?3 ORDER BY start DESC LIMIT 1",
      dropChunksFrom: "DELETE FROM archive_chunks WHERE file_id = ?1 AND generation = ?2 AND start >= ?3",
      insertChunk: "INSERT INTO archive_chunks (file_id, generation, start, length, data) VALUES (?, ?, ?, ?, ?)",
      saveGeneration: `
        INSERT INTO archive_generations (file_id, generation, archived_to, tail, started_at) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (file_id, generation) DO UPDATE SET archived_to = excluded.archived_to, tail = excluded.tail`,
      newGeneration: "INSERT INTO archive_generations (file_id, generation, started_at) VALUES (?, ?, ?)",
      dropMessagesFrom: "DELETE FROM messages WHERE session_id = ?3 AND file_id = ?1 AND byte_offset >= ?2",
      insertMessage: insert + tuple,
      insertMessages: insert + Array(ROWS_PER_INSERT).fill(tuple).join(", "),
      stageMessage: stage + tuple,
      stageMessages: stage + Array(ROWS_PER_INSERT).fill(tuple).join(", "),
      moveStaged: `INSERT INTO messages (${COLUMNS}) SELECT ${COLUMNS} FROM temp.new_messages ORDER BY rowid`,
      clearStaged: "DELETE FROM temp.new_messages",
      toolOfCall: "SELECT tool FROM messages WHERE session_id = ?3 AND file_id = ?1 AND tool_use_id = ?2 AND kind = 'tool_call' LIMIT 1",
      dropMessagesIn: "DELETE FROM messages WHERE id BETWEEN ?3 AND ?4 AND file_id = ?1 AND byte_offset >= ?2",
      toolOfCallIn: "SELECT tool FROM messages WHERE id BETWEEN ?3 AND ?4 AND file_id = ?1 AND tool_use_id = ?2 AND kind = 'tool_call' LIMIT 1",
      closeGeneration: "UPDATE archive_generations SET replaced_at = ?3 WHERE file_id = ?1 AND generation = ?2",
    });
  }

  /**
   * The sessions of files whose archive lags what was indexed (runs with --no-archive) and that
   * were not found on disk: what the archive lacks of them is gone.
   */
  unarchivable(rows: Array<{ id: number; indexed_offset: number; archived_to: number | null }>, found: Set<number | undefined>): string[] {
    const gone = rows.filter((r) => (r.archived_to ?? 0) < r.indexed_offset && !found.has(r.id)).map((r) => r.id);
    if (!gone.length) return [];
    return (this.db.query("SELECT DISTINCT s.session_key AS k FROM agent_files f JOIN sessions s ON s.id = f.session_id WHERE f.id IN (SELECT value FROM json_each(?)) ORDER BY 1")
      .all(JSON.stringify(gone)) as Array<{ k: string }>).map((r) => r.k);
  }

  /** The file's latest generation, or null when nothing of it was archived yet. */
  state(fileId: number): ArchiveState | null {
    const r = this.st.current.get(fileId) as { generation: number; archived_to: number; hasTail: number } | null;
    return r ? { generation: r.generation, archived_to: r.archived_to, hasTail: r.hasTail === 1 } : null;
  }

  /**
   * The file was rewritten and is read again from byte 0: what the archive holds of it becomes an
   * earlier generation, and a new one starts. A generation that holds nothing is used again.
   */
  restart(fileId: number, sessionId: number) {
    this.searchIndexWritten = true; // the delete trigger
    const s = this.state(fileId);
    this.st.dropMessagesFrom.run(fileId, 0, sessionId); // the messages are the latest content's: read again with it
    if (!s) return;
    if (s.archived_to === 0 && !s.hasTail) {
      this.st.dropChunksFrom.run(fileId, s.generation, 0); // pieces of a run that was killed: nothing committed
      return;
    }
    const now = new Date().toISOString();
    this.st.closeGeneration.run(fileId, s.generation, now);
    this.st.newGeneration.run(fileId, s.generation + 1, now);
  }

  /**
   * Where the archive of a file read from `parseFrom` goes on: from its archived end (which lags
   * the indexed offset when earlier runs did not archive), packing a small last piece again.
   */
  job(fileId: number, parseFrom: number): ArchiveJob {
    const s = this.state(fileId);
    const generation = s?.generation ?? 1;
    const from = Math.min(s?.archived_to ?? 0, parseFrom);
    if (from > 0) {
      const last = this.st.lastChunk.get(fileId, generation, from) as { start: number; length: number; data: Uint8Array } | null;
      if (last && last.length < REPACK_BELOW && last.start + last.length === from) {
        return { generation, from, prefix: Bun.zstdDecompressSync(last.data), prefixStart: last.start };
      }
    }
    return { generation, from, prefix: null, prefixStart: from };
  }

  /**
   * The file's new pieces and messages: anything from their start on (a killed bulk run's
   * leftovers, a small piece packed again) is replaced, so writing them twice leaves them once.
   */
  writeChunks(fileId: number, a: ArchivedBytes) {
    this.st.dropChunksFrom.run(fileId, a.generation, a.start);
    for (const c of a.chunks) this.st.insertChunk.run(fileId, a.generation, c.start, c.length, c.data);
    a.chunks = []; // written: a bulk load holds the file's rows, not its bytes
  }

  /**
   * The file's new messages, in the transaction of its rows (their search index follows through
   * triggers). Outside a bulk load they are staged in a temporary table and moved in one
   * statement: once FTS5 is written in a transaction it writes its pending terms out to a new
   * segment at every statement's savepoint, and the trigger gave each INSERT one (0.3 ms a message;
   * 35 ms of the 116 a re-index after one appended session took on the 1 GB corpus's index).
   */
  writeMessages(fileId: number, sessionId: number, a: ArchivedBytes) {
    if (this.bulkLeftovers === null) this.searchIndexWritten = true; // through the triggers
    this.dropMessages(fileId, sessionId, a.messagesFrom);
    if (a.messages) {
      const staged = this.bulkLeftovers === null;
      // asked each time (a few µs a file): a rolled-back transaction takes a table it made with it
      if (staged) this.db.run(`CREATE TEMP TABLE IF NOT EXISTS new_messages AS SELECT ${COLUMNS} FROM messages WHERE 0`);
      const [many, one] = staged ? [this.st.stageMessages, this.st.stageMessage] : [this.st.insertMessages, this.st.insertMessage];
      // bound, not read out of JSON in SQL (json_each cost 5x as much); 32 rows a statement
      const rows = unpackMessages(a.messages);
      const values: unknown[] = [];
      for (const m of rows) {
        let tool = m[Message.tool];
        // a result read in a later run than its call: the call's tool, from the file's messages
        if (tool === null && m[Message.kind] === "tool_result" && m[Message.toolUseId] !== null) {
          tool = this.toolOf(fileId, sessionId, m[Message.toolUseId]);
        }
        values.push(sessionId, fileId, m[Message.offset], m[Message.part], m[Message.kind], m[Message.role], m[Message.at], m[Message.model], tool,
          m[Message.text], m[Message.length], m[Message.toolUseId]);
        if (values.length === MESSAGE_COLUMNS * ROWS_PER_INSERT) {
          many.run(...(values as never[]));
          values.length = 0;
        }
      }
      for (let i = 0; i < values.length; i += MESSAGE_COLUMNS) one.run(...(values.slice(i, i + MESSAGE_COLUMNS) as never[]));
      if (staged) {
        this.st.moveStaged.run();
        this.st.clearStaged.run();
      }
    }
    a.messages = null;
  }

  /** Deletes the file's messages from `offset` on (a bulk load: only those from before it, by their ids). */
  private dropMessages(fileId: number, sessionId: number, offset: number) {
    if (!this.bulkLeftovers) return void this.st.dropMessagesFrom.run(fileId, offset, sessionId);
    const ids = this.bulkLeftovers.get(fileId);
    if (ids) this.st.dropMessagesIn.run(fileId, offset, ids[0], ids[1]);
  }

  /** The tool of the file's call `toolUseId`, read in an earlier run. */
  private toolOf(fileId: number, sessionId: number, toolUseId: string): string | null {
    if (!this.bulkLeftovers) return (this.st.toolOfCall.get(fileId, toolUseId, sessionId) as { tool: string | null } | null)?.tool ?? null;
    const ids = this.bulkLeftovers.get(fileId);
    return ids ? ((this.st.toolOfCallIn.get(fileId, toolUseId, ids[0], ids[1]) as { tool: string | null } | null)?.tool ?? null) : null;
  }

  /**
   * A first index's bulk load appends its messages as it goes, without their two indexes and the
   * search index: it drops them (and marks them pending in index_state, which the triggers check)
   * in the transaction of its first messages, and builds them whole, sorted, in its final
   * transaction. Kept up at every insert, they cost several times that (docs/archive.md). The
   * messages a killed bulk load left are found by their ids (file -> id range, read through the
   * index before it goes), so the deletes that make the writes idempotent scan no table.
   */
  beginBulk() {
    if (this.bulkLeftovers) return;
    const indexes = this.db.query("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL ORDER BY name")
      .all() as Array<{ name: string; sql: string }>;
    const leftovers = new Map<number, [number, number]>();
    for (const r of this.db.query("SELECT file_id AS f, min(id) AS lo, max(id) AS hi FROM messages GROUP BY file_id").all() as Array<{ f: number; lo: number; hi: number }>) {
      leftovers.set(r.f, [r.lo, r.hi]);
    }
    this.db.run("INSERT OR IGNORE INTO index_state (key, value) VALUES ('messages_fts', 'pending')");
    if (indexes.length) {
      // the definitions as they are, so that a later migration's indexes come back as it made them
      this.db.run("INSERT OR REPLACE INTO index_state (key, value) VALUES ('messages_indexes', ?)", [JSON.stringify(indexes.map((i) => i.sql))]);
      for (const { name } of indexes) this.db.run(`DROP INDEX "${name.replace(/"/g, '""')}"`);
    }
    this.bulkLeftovers = leftovers;
  }

  /** Whether a bulk load left the messages' indexes or the search index to build (rebuildSearchIndexIfPending). */
  rebuildPending(): boolean {
    return this.db.query("SELECT 1 FROM index_state WHERE key IN ('messages_indexes', 'messages_fts')").get() !== null;
  }

  /**
   * The messages' indexes and search index, built whole when a bulk load (this one, or one killed)
   * left them pending: in its final transaction, or first thing in the next run, before any
   * message is deleted. With `searchIndexApart`, the indexes only: a worker thread builds the
   * search index, and searchIndexFrom copies it in, in a transaction of its own.
   */
  rebuildSearchIndexIfPending(searchIndexApart = false) {
    this.bulkLeftovers = null;
    const dropped = this.db.query("SELECT value FROM index_state WHERE key = 'messages_indexes'").get() as { value: string } | null;
    if (dropped) {
      for (const sql of JSON.parse(dropped.value) as string[]) this.db.run(sql.replace(/^CREATE (UNIQUE )?INDEX /i, "CREATE $1INDEX IF NOT EXISTS "));
      this.db.run("DELETE FROM index_state WHERE key = 'messages_indexes'");
    }
    if (!searchIndexApart) this.searchIndexFrom(null);
  }

  /**
   * The search index, when pending: copied from a build made apart (search-index-build.ts), else
   * rebuilt by FTS5 from the messages. A bulk load does this in a transaction after its final one,
   * the index still marked pending until then: a kill between leaves it to the next run's rebuild.
   */
  searchIndexFrom(build: SearchIndexBuild | null) {
    if (!this.searchIndexPending()) return;
    if (!build?.copyInto(this.db)) {
      setHashBytes(this.db, "messages_fts", BULK_HASH_BYTES);
      this.db.run("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')");
      setHashBytes(this.db, "messages_fts", DEFAULT_HASH_BYTES);
    }
    this.searchIndexWritten = true;
    this.db.run("DELETE FROM index_state WHERE key = 'messages_fts'");
  }

  private searchIndexPending(): boolean {
    return this.db.query("SELECT 1 FROM index_state WHERE key = 'messages_fts'").get() !== null;
  }

  /**
   * Whether a bulk load's search index may be built apart and copied in (search-index-build.ts):
   * when it is pending and this connection has not written it yet. FTS5 keeps what it read of an
   * index's structure with the connection, so one that wrote it could go on from a stale copy.
   */
  searchIndexApart(): boolean {
    return !this.searchIndexWritten && this.searchIndexPending();
  }

  /** The generation's archived end and tail: in the transaction that saves the file's indexed offset. */
  saveProgress(fileId: number, a: ArchivedBytes) {
    this.st.saveGeneration.run(fileId, a.generation, a.to, a.tail, new Date().toISOString());
  }
}
