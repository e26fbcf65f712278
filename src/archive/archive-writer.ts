// The archive's statements, prepared once and run by the deep index's one writer (index-writer.ts),
// in the transaction that holds the file's rows and its indexed offset: a file's archived end and
// its indexed offset move together, so a kill leaves them agreeing (docs/archive.md).

import type { Database, Statement } from "bun:sqlite";
import { REPACK_BELOW, type ArchivedBytes, type ArchiveJob } from "./chunks";
import { Message, type MessageRow } from "./messages";

/** The latest generation of a file, as the plan reads it. */
export interface ArchiveState {
  generation: number;
  archived_to: number;
  hasTail: boolean;
}

const MESSAGE_COLUMNS = 12;
/** Messages per INSERT: fewer statements to step, the same values bound. */
const ROWS_PER_INSERT = 32;

export class ArchiveWriter {
  private readonly current: Statement;
  private readonly lastChunk: Statement;
  private readonly dropChunksFrom: Statement;
  private readonly insertChunk: Statement;
  private readonly saveGeneration: Statement;
  private readonly newGeneration: Statement;
  private readonly closeGeneration: Statement;
  private readonly dropMessagesFrom: Statement;
  private readonly insertMessage: Statement;
  private readonly insertMessages: Statement;
  private readonly toolOfCall: Statement;

  constructor(private readonly db: Database) {
    this.current = db.prepare(
      "SELECT generation, archived_to, tail IS NOT NULL AND length(tail) > 0 AS hasTail FROM archive_generations WHERE file_id = ? ORDER BY generation DESC LIMIT 1");
    this.lastChunk = db.prepare("SELECT start, length, data FROM archive_chunks WHERE file_id = ?1 AND generation = ?2 AND start < ?3 ORDER BY start DESC LIMIT 1");
    this.dropChunksFrom = db.prepare("DELETE FROM archive_chunks WHERE file_id = ?1 AND generation = ?2 AND start >= ?3");
    this.insertChunk = db.prepare("INSERT INTO archive_chunks (file_id, generation, start, length, data) VALUES (?, ?, ?, ?, ?)");
    this.saveGeneration = db.prepare(`
      INSERT INTO archive_generations (file_id, generation, archived_to, tail, started_at) VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT (file_id, generation) DO UPDATE SET archived_to = excluded.archived_to, tail = excluded.tail`);
    this.newGeneration = db.prepare("INSERT INTO archive_generations (file_id, generation, started_at) VALUES (?, ?, ?)");
    this.dropMessagesFrom = db.prepare("DELETE FROM messages WHERE file_id = ?1 AND byte_offset >= ?2");
    const insert = `INSERT INTO messages (session_id, file_id, byte_offset, part, kind, role, at, model, tool, text, length, tool_use_id) VALUES `;
    const tuple = `(${Array(MESSAGE_COLUMNS).fill("?").join(", ")})`;
    this.insertMessage = db.prepare(insert + tuple);
    this.insertMessages = db.prepare(insert + Array(ROWS_PER_INSERT).fill(tuple).join(", "));
    this.toolOfCall = db.prepare("SELECT tool FROM messages WHERE file_id = ? AND tool_use_id = ? AND kind = 'tool_call' LIMIT 1");
    this.closeGeneration = db.prepare("UPDATE archive_generations SET replaced_at = ?3 WHERE file_id = ?1 AND generation = ?2");
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
    const r = this.current.get(fileId) as { generation: number; archived_to: number; hasTail: number } | null;
    return r ? { generation: r.generation, archived_to: r.archived_to, hasTail: r.hasTail === 1 } : null;
  }

  /**
   * The file was rewritten and is read again from byte 0: what the archive holds of it becomes an
   * earlier generation, and a new one starts. A generation that holds nothing is used again.
   */
  restart(fileId: number) {
    const s = this.state(fileId);
    this.dropMessagesFrom.run(fileId, 0); // the messages are the latest content's: read again with it
    if (!s) return;
    if (s.archived_to === 0 && !s.hasTail) {
      this.dropChunksFrom.run(fileId, s.generation, 0); // pieces of a run that was killed: nothing committed
      return;
    }
    const now = new Date().toISOString();
    this.closeGeneration.run(fileId, s.generation, now);
    this.newGeneration.run(fileId, s.generation + 1, now);
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
      const last = this.lastChunk.get(fileId, generation, from) as { start: number; length: number; data: Uint8Array } | null;
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
    this.dropChunksFrom.run(fileId, a.generation, a.start);
    for (const c of a.chunks) this.insertChunk.run(fileId, a.generation, c.start, c.length, c.data);
    a.chunks = []; // written: a bulk load holds the file's rows, not its bytes
  }

  /** The file's new messages, in the transaction of its rows (their search index follows through triggers). */
  writeMessages(fileId: number, sessionId: number, a: ArchivedBytes) {
    this.dropMessagesFrom.run(fileId, a.messagesFrom);
    if (a.messagesJson) {
      // bound, not read out of the JSON in SQL (json_each cost 5x as much); 32 rows a statement
      const rows = JSON.parse(a.messagesJson) as MessageRow[];
      const values: unknown[] = [];
      for (const m of rows) {
        let tool = m[Message.tool];
        // a result read in a later run than its call: the call's tool, from the file's messages
        if (tool === null && m[Message.kind] === "tool_result" && m[Message.toolUseId] !== null) {
          tool = (this.toolOfCall.get(fileId, m[Message.toolUseId]) as { tool: string | null } | null)?.tool ?? null;
        }
        values.push(sessionId, fileId, m[Message.offset], m[Message.part], m[Message.kind], m[Message.role], m[Message.at], m[Message.model], tool,
          m[Message.text], m[Message.length], m[Message.toolUseId]);
        if (values.length === MESSAGE_COLUMNS * ROWS_PER_INSERT) {
          this.insertMessages.run(...(values as never[]));
          values.length = 0;
        }
      }
      for (let i = 0; i < values.length; i += MESSAGE_COLUMNS) this.insertMessage.run(...(values.slice(i, i + MESSAGE_COLUMNS) as never[]));
    }
    a.messagesJson = null;
  }

  /**
   * A first index's bulk load writes its messages as it goes, without keeping the search index
   * (marked pending, in the transaction of its first messages), and rebuilds it whole, sorted, in
   * its final transaction: per-row FTS inserts cost several times that (docs/archive.md).
   */
  searchIndexPending() {
    this.db.run("INSERT OR IGNORE INTO index_state (key, value) VALUES ('messages_fts', 'pending')");
  }

  /** The search index rebuilt from every message, when a bulk load (this one, or one killed) left it pending. */
  rebuildSearchIndexIfPending() {
    if (!this.db.query("SELECT 1 FROM index_state WHERE key = 'messages_fts'").get()) return;
    this.db.run("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')");
    this.db.run("DELETE FROM index_state WHERE key = 'messages_fts'");
  }

  /** The generation's archived end and tail: in the transaction that saves the file's indexed offset. */
  saveProgress(fileId: number, a: ArchivedBytes) {
    this.saveGeneration.run(fileId, a.generation, a.to, a.tail, new Date().toISOString());
  }
}
