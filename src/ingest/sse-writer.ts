// The one writer of sse rows. It batches rows into transactions and, for the main database, stores
// the source's committed offset in the same transaction as the rows it covers: that is the whole
// exactly-once mechanism. A crash loses at most the open transaction, and the next run starts
// from the committed offset.

import type { Database, Statement } from "bun:sqlite";
import type { DecodedCopy, EnvelopeFields } from "../extract/envelope";
import type { Histogram } from "../runtime/histogram";
import { ADVANCE_SOURCE_SQL } from "./sources";

export interface BatchPolicy {
  rows: number;
  ms: number;
}

/** Where the committed offset goes; absent for a part database, which is merged whole. */
export interface OffsetLedger {
  sourceId: number;
}

/** The first 4 KiB of a rejected line are kept, enough to see what went wrong. */
export const REJECT_HEAD_BYTES = 4096;

export class SseWriter {
  /** Totals since this writer was made. */
  rows = 0;
  rejects = 0;
  commits = 0;
  /** Offset just past the last committed line. */
  committedOffset: number;
  private pendingRows = 0;
  private pendingRejects = 0;
  private sinceCheck = 0;

  /** Lines written so far, committed or not. */
  get linesWritten(): number {
    return this.rows + this.rejects + this.pendingRows + this.pendingRejects;
  }
  private batchStarted = performance.now();
  /** When the last commit happened (epoch ms), for a follower's status line; null before one. */
  lastCommitAt: number | null = null;
  /**
   * Where the live tail counts each transaction's time from its first write to its commit (the
   * ingester's heartbeat saves it for /metrics); null in a backfill, which reports none.
   */
  commitTimes: Histogram | null = null;
  private readonly insertRow: Statement;
  private readonly insertRaw: Statement;
  private readonly insertReject: Statement;
  private readonly insertDecoded: Statement;
  private readonly updateSource: Statement | null;
  private readonly sourceId: number;
  /** The tail fingerprint of an offset about to be committed (tailFrom); none for stdin. */
  private tailAt: ((offset: number) => string) | null = null;

  /**
   * Row ids are idBase + byte offset: unique and in file order, and known before any row is
   * written, so parts ingested in parallel never collide and merge by a plain copy. The live tail
   * passes null and lets SQLite assign them: it may read two sources at once (a rotated file being
   * drained beside its successor), whose offset ranges would overlap.
   */
  constructor(
    private readonly db: Database,
    private readonly fileId: number,
    private readonly idBase: number | null,
    startOffset: number,
    private policy: BatchPolicy,
    ledger: OffsetLedger | null,
  ) {
    this.committedOffset = startOffset;
    this.insertRow = db.prepare(
      "INSERT INTO sse_rows (id, file_id, byte_offset, t, source, sid, flow_id, round, event, meta_pid, meta_cwd, meta_turn_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    );
    // Bound as bytes straight from the read buffer, stored as TEXT: no JS string is ever built.
    // The row's id, explicit or assigned, is last_insert_rowid() for its raw and decoded rows.
    this.insertRaw = db.prepare("INSERT INTO sse_raw (id, raw) VALUES (last_insert_rowid(), CAST(? AS TEXT))");
    this.insertDecoded = db.prepare("INSERT INTO sse_decoded (id, metadata, line) VALUES (last_insert_rowid(),?,?)");
    this.insertReject = db.prepare("INSERT INTO rejects (file_id, byte_offset, length, reason, head) VALUES (?,?,?,?,?)");
    this.updateSource = ledger
      ? db.prepare(ADVANCE_SOURCE_SQL)
      : null;
    this.sourceId = ledger?.sourceId ?? 0;
  }

  row(f: EnvelopeFields, decoded: DecodedCopy | null, buf: Uint8Array, start: number, end: number, offset: number) {
    if (this.pendingRows + this.pendingRejects === 0 && !this.db.inTransaction) this.begin();
    const id = this.idBase === null ? null : this.idBase + offset;
    this.insertRow.run(id, this.fileId, offset, f.t, f.source, f.sid, f.flow_id, f.round, f.event, f.meta_pid, f.meta_cwd, f.meta_turn_id);
    this.insertRaw.run(buf.subarray(start, end));
    if (decoded !== null) this.insertDecoded.run(decoded.metadata, decoded.line);
    this.pendingRows++;
  }

  reject(offset: number, length: number, reason: string, head: Uint8Array) {
    if (this.pendingRows + this.pendingRejects === 0 && !this.db.inTransaction) this.begin();
    this.insertReject.run(this.fileId, offset, length, reason, head.length > REJECT_HEAD_BYTES ? head.subarray(0, REJECT_HEAD_BYTES) : head);
    this.pendingRejects++;
  }

  /** Called after each line with the offset of the next one; commits when the batch is full or old. */
  lineDone(nextOffset: number) {
    if (this.pendingRows + this.pendingRejects >= this.policy.rows) return this.commit(nextOffset);
    // reading the clock costs more than a line, so only every 256 lines
    if (++this.sinceCheck >= 256) {
      this.sinceCheck = 0;
      if (performance.now() - this.batchStarted >= this.policy.ms) this.commit(nextOffset);
    }
  }

  /**
   * Commits everything so far with `nextOffset` as the source's committed offset. Blank lines move
   * the offset without a row, so this commits even an empty batch when the offset moved.
   */
  commit(nextOffset: number) {
    if (nextOffset === this.committedOffset && this.pendingRows + this.pendingRejects === 0) return;
    if (!this.db.inTransaction) this.begin();
    this.flush(nextOffset);
    this.lastCommitAt = Date.now();
  }

  /** Commits when the open batch is older than the policy allows: for input that trickles in. */
  commitIfDue(nextOffset: number) {
    if (this.pendingRows + this.pendingRejects > 0 && performance.now() - this.batchStarted >= this.policy.ms) this.commit(nextOffset);
  }

  /** Milliseconds until the open batch must be committed, or Infinity when nothing is pending. */
  msUntilDue(): number {
    if (this.pendingRows + this.pendingRejects === 0) return Infinity;
    return Math.max(0, this.policy.ms - (performance.now() - this.batchStarted));
  }

  /**
   * Where the tail fingerprint of each committed offset comes from (the line reader's bytes): it
   * is stored with the offset, once per commit, never per line.
   */
  tailFrom(tailAt: (offset: number) => string) {
    this.tailAt = tailAt;
  }

  /** Switches the batch policy (the stdin backfill turning into the live tail). */
  setPolicy(policy: BatchPolicy) {
    this.policy = policy;
  }

  /** Commits and finalizes the statements. */
  close(nextOffset: number) {
    this.commit(nextOffset);
    this.insertRow.finalize();
    this.insertRaw.finalize();
    this.insertReject.finalize();
    this.insertDecoded.finalize();
    this.updateSource?.finalize();
  }

  /** Rolls back the open batch (on an error; the committed offset still marks where to resume). */
  abort() {
    if (this.db.inTransaction) this.db.run("ROLLBACK");
  }

  private begin() {
    this.db.run("BEGIN");
    this.batchStarted = performance.now();
  }

  private flush(nextOffset: number) {
    this.updateSource?.run(nextOffset, this.pendingRows, this.pendingRejects, new Date().toISOString(), this.sourceId, this.tailAt?.(nextOffset) ?? null);
    this.db.run("COMMIT");
    // from the batch's BEGIN: the wait of its oldest line in this writer plus the commit itself
    this.commitTimes?.observe((performance.now() - this.batchStarted) / 1000);
    this.rows += this.pendingRows;
    this.rejects += this.pendingRejects;
    this.pendingRows = this.pendingRejects = 0;
    this.committedOffset = nextOffset;
    this.commits++;
  }
}
