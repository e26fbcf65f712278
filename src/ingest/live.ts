// The live tail of a file: follows the path for ever under a strict memory budget, committing
// appended lines within tens of milliseconds. Rotation, truncation and a vanished path are handled
// the way the best log shippers do, without their losses: a rotated file is drained to its end
// through the open descriptor (left-files.ts) before the new one is read from byte 0, and every
// identity change is recorded in the database.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { fstatSync } from "node:fs";
import { basename, resolve } from "node:path";
import { checkpointInBackground, stopBackgroundCheckpoints } from "../db/checkpoints";
import { openDatabase } from "../db/open";
import { checkpointTruncate, useLiveSettings } from "../db/settings";
import { claimIngester, heartbeat, releaseIngester } from "../db/writer-lock";
import { EnvelopeExtractor } from "../extract/envelope";
import { closeQuietly, FileFollower, type PathChange } from "../input/file-follower";
import { RewriteGuard } from "../input/rewrite-guard";
import { adoptInheritedFd, execSelf } from "../runtime/exec-self";
import { Histogram } from "../runtime/histogram";
import { MemoryBudget } from "../runtime/memory-budget";
import { releaseStartupPagesLogged } from "../runtime/page-release";
import { rssBytes } from "../runtime/proc";
import { onStopSignals, settleSignals } from "../runtime/signals";
import { followerFigures, statusLine } from "../runtime/status-line";
import { count, size } from "../runtime/format";
import { LeftFiles } from "./left-files";
import { MinuteWindow } from "./minute-window";
import { lengthenFingerprint, recordSourceEvent, resolveFileSource, retireSource } from "./sources";
import { createIndexes } from "./sse-indexes";
import { checkStartOffset } from "./start-offset";
import { LIVE_BUFFER_BYTES, openTailAt, readTail, type Tail } from "./tail";

export interface LiveOptions {
  input: string;
  dbPath: string;
  /** The hand-over's offset: where the backfill stopped. Null on a plain start. */
  startOffset: number | null;
  maxLine: number;
  pageSize: number;
  liveCacheMb: number;
  batchRows: number;
  batchMs: number;
  maxRssBytes: number;
  pollMs: number;
  /** How long a rotated or deleted file is still read after it left the path. */
  rotateWaitMs: number;
  /** The flags the live image passes on when it re-execs itself (memory budget). */
  reexecArgs: (offset: number) => string[];
  /** The input file as the backfill left it, inherited across the hand-over exec; null if none. */
  inheritedFd: number | null;
}

/** How often the heartbeat and the memory check run. */
const HOUSEKEEPING_MS = 1000;
/**
 * After this long without a new line, the WAL is folded back and truncated: the automatic
 * checkpoints bound it while lines flow, and a quiet period leaves it at zero bytes, so backups,
 * readers and `sluice stats` see a small WAL, at no cost to a busy tail.
 */
const QUIET_CHECKPOINT_MS = 5000;

export async function runLiveFile(o: LiveOptions, log: ConsolaInstance): Promise<void> {
  const db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
  claimIngester(db, o.dbPath, "live", resolve(o.input));
  useLiveSettings(db, o.liveCacheMb);
  checkpointInBackground(db, o.dbPath, log);
  // A live tail that starts without a backfill (a restart) still wants its indexes.
  createIndexes(db);
  const reexecAt = await new LiveTail(db, o, log).run();
  if (reexecAt !== null) await execSelf(o.reexecArgs(reexecAt), process.env);
}

/** The state of one live run: the followed file, the files that left the path, the counters. */
class LiveTail {
  private readonly path: string;
  private readonly follower: FileFollower;
  private readonly extractor = new EnvelopeExtractor();
  private readonly left: LeftFiles;
  private readonly budget: MemoryBudget;
  private readonly window = new MinuteWindow();
  /** Every tail's commit latencies; the heartbeat saves them (writer-lock.ts) for /metrics. */
  private readonly commitTimes = new Histogram();
  private stopping = false;
  private reopen = false;
  private tail: Tail | null = null;
  /** The backfill's own descriptor: the file it read, wherever its path points by now. */
  private inherited: number | null;
  private firstOpen = true;
  private startupPagesReleased = false;
  private lastHousekeeping = 0;
  // Lines read across every file, for the rate; when the last one came, for the quiet checkpoint.
  private linesRead = 0;
  private lastLineAt = performance.now();
  private walDirty = false;
  /** The last commit of any file this tail followed, for the status line. */
  private lastCommitAt: number | null = null;
  /** The source a rotated or vanished file had, until the next file at the path gets a source. */
  private pendingFollows: { id: number; kind: string } | null = null;
  /** Set when the memory budget asks for a restart: the offset the next image starts at. */
  private reexecAt: number | null = null;

  constructor(
    private readonly db: Database,
    private readonly o: LiveOptions,
    private readonly log: ConsolaInstance,
  ) {
    this.path = resolve(o.input);
    this.follower = new FileFollower(this.path);
    this.budget = new MemoryBudget(o.maxRssBytes);
    this.window.add(performance.now(), 0, 0); // the rate counts from the start, not from the first heartbeat
    const settings = { maxLine: o.maxLine, batchRows: o.batchRows, batchMs: o.batchMs, rotateWaitMs: o.rotateWaitMs, commitTimes: this.commitTimes };
    this.left = new LeftFiles(db, this.path, settings, this.extractor, log, () => this.commitFollowed(), (n) => this.countLines(n));
    this.inherited = o.inheritedFd === null ? null : adoptInheritedFd(o.inheritedFd);
    if (o.inheritedFd !== null && this.inherited === null) log.warn(`--input-fd ${o.inheritedFd} is not an open file; opening ${this.path} instead`);
  }

  /** Follows until a stop signal or the memory budget; returns the re-exec offset, or null. */
  async run(): Promise<number | null> {
    this.follower.watch();
    const removeSignals = onStopSignals(() => {
      this.stopping = true;
      this.follower.poke();
    });
    const onHup = () => {
      this.reopen = true;
      this.follower.poke();
    };
    process.on("SIGHUP", onHup);
    // (With the backfill's descriptor in hand, that file is the tail itself, wherever it went.)
    this.pendingFollows = this.left.recoverAtStart(this.inherited === null ? null : fstatSync(this.inherited)) ?? this.pendingFollows;
    try {
      while (!this.stopping && (await this.step()));
      if (this.stopping && this.tail) {
        this.tail.writer.close(this.tail.reader.nextLineOffset);
        this.log.info(`stopping: committed through byte ${this.tail.reader.nextLineOffset}`);
      }
      this.left.drain(performance.now(), true);
    } finally {
      await settleSignals(); // one that came meanwhile: seen (stopping), not dropped with the handlers
      removeSignals();
      process.off("SIGHUP", onHup);
      this.follower.close();
      if (this.tail) closeQuietly(this.tail.fd);
      this.left.closeAll();
      statusLine.clear();
      finishLive(this.db, this.log);
    }
    // asked to stop as the budget asked for a restart: everything read is committed, and it stops here
    return this.stopping ? null : this.reexecAt;
  }

  /** One pass of the loop; false when the run must end (the memory budget). */
  private async step(): Promise<boolean> {
    if (this.left.count) this.left.drain(performance.now(), false);
    if (!this.tail) {
      const fd = this.inherited ?? this.follower.open();
      this.inherited = null;
      if (fd === null) {
        await this.follower.wait(this.left.count ? Math.min(this.o.pollMs, 100) : this.o.pollMs);
        return true;
      }
      this.tail = this.openTail(fd);
      this.releaseStartupPagesOnce();
    }
    const now = performance.now();
    if (this.pathChanged(this.tail, now)) return true;
    this.drain(this.tail);
    if (now - this.lastHousekeeping >= HOUSEKEEPING_MS && !this.housekeeping(this.tail, now)) return false;
    if (this.pendingFollows !== null && this.tail) {
      recordSourceEvent(this.db, this.tail.source.id, "follows", `continues source ${this.pendingFollows.id} after it was ${this.pendingFollows.kind}`);
      this.pendingFollows = null;
    }
    const t = this.tail;
    await this.follower.wait(Math.min(this.o.pollMs, HOUSEKEEPING_MS, t ? t.writer.msUntilDue() : Infinity, this.left.count ? 100 : Infinity));
    return true;
  }

  /**
   * The path's state machine: the followed file rotated away, gone, truncated or rewritten, or a
   * SIGHUP asking to reopen it. True when it acted (the followed tail changed or is gone).
   */
  private pathChanged(tail: Tail, now: number): boolean {
    const change: PathChange = tail.guard.rewritten ? "truncated" : this.follower.check(tail.fd, tail.reader.nextLineOffset);
    if (change === "rotated" || change === "missing") {
      this.pendingFollows = { id: tail.source.id, kind: change };
      tail.writer.commit(tail.reader.nextLineOffset);
      // Retired from the path at once (the next file there is judged on its own), but still read.
      retireSource(this.db, tail.source.id, change, change === "rotated" ? "another file is at the path" : "the path disappeared");
      this.left.add(tail, change, now);
      this.tail = null;
      this.log.info(`${this.path}: ${change}; reading the old file on for ${this.o.rotateWaitMs} ms`);
      if (change === "missing") this.log.warn(`${this.path} disappeared; waiting for it to come back`);
      return true;
    }
    if (change === "truncated") {
      const why = tail.guard.rewritten ? tail.guard.why : `seen shorter than byte ${tail.reader.nextLineOffset} while followed`;
      this.log.warn(`${this.path} was truncated or rewritten below byte ${tail.reader.nextLineOffset} (${why}); reading it again from byte 0`);
      tail.writer.close(tail.reader.nextLineOffset);
      // The same open file, as a new source from byte 0 (resolveFileSource records the change).
      // Not reopened by path: by now the path may name another file, or none, and the lines
      // written after the truncation are only reachable through this descriptor.
      this.tail = this.openTail(tail.fd, why);
      return true;
    }
    if (this.reopen) {
      this.reopen = false;
      this.log.info(`SIGHUP: reopening ${this.path}`);
      tail.writer.close(tail.reader.nextLineOffset);
      closeQuietly(tail.fd);
      this.tail = null;
      return true;
    }
    return false;
  }

  /**
   * Opens whatever is at the path now, as its source (new, or resumed at its committed offset).
   * `rewritten` says why the file open at `fd` is known to be rewritten, or is null. The bytes
   * before the committed offset are judged from the guard's own read of them, which its reads
   * then check again.
   */
  private openTail(fd: number, rewritten: string | null = null): Tail {
    const guard = new RewriteGuard(fd);
    const ident = guard.identity();
    const r = resolveFileSource(this.db, this.path, fd, ident, rewritten, (end) => guard.anchor(end));
    if (r.change === "truncated" || r.change === "replaced") this.log.warn(`${this.path} was ${r.change} (${r.detail}); reading it from byte 0 as source ${r.source.id}`);
    if (r.change === "rotated") this.log.info(`${this.path}: ${r.detail}; reading the new file from byte 0 as source ${r.source.id}`);
    let start = r.source.committed_offset;
    if (this.firstOpen && this.o.startOffset !== null) {
      // The hand-over's offset belongs to the file the backfill read. If that file was truncated
      // or replaced during the exec, this is a new source, read from byte 0 (the model-based
      // follow test found this race).
      if (r.change === "same" || r.change === "moved") start = this.handoverStart(fd, ident.size, start, r.source.committed_offset);
      else this.log.warn(`--start-offset ${this.o.startOffset} was for the file before it was ${r.change}; reading the new one from byte 0`);
    }
    this.firstOpen = false;
    this.log.info(`following ${this.path} from byte ${start} (source ${r.source.id})`);
    return openTailAt(this.db, { ...this.o, commitTimes: this.commitTimes }, fd, r.source, start, guard);
  }

  /** Where the live image starts in the file the backfill read: its --start-offset, checked. */
  private handoverStart(fd: number, size: number, start: number, committed: number): number {
    try {
      return checkStartOffset(fd, this.o.startOffset!, size, start, this.log);
    } catch (err) {
      // The offset was right when the backfill committed it; a copytruncate since (after the
      // identity check) makes it wrong. From the committed offset, the next check sees the
      // truncation and reads the file again from byte 0.
      if (this.o.startOffset !== committed) throw err;
      this.log.warn(`${this.path} changed during the hand-over (${(err as Error).message}); going on from the committed offset`);
      return start;
    }
  }

  /**
   * Reads everything complete that is there now. It commits once the oldest uncommitted line has
   * waited --live-batch-ms (or the batch is full): at a steady trickle that is a few commits a
   * second instead of one per write, for the same latency bound.
   */
  private drain(t: Tail) {
    this.countLines(readTail(t, this.extractor));
    if (!t.guard.rewritten) t.source = lengthenFingerprint(this.db, t.source, t.guard.fingerprint());
    t.writer.commitIfDue(t.reader.nextLineOffset);
    t.reader.resume();
    t.reader.shrink(LIVE_BUFFER_BYTES);
  }

  private countLines(n: number) {
    if (n <= 0) return;
    this.linesRead += n;
    this.lastLineAt = performance.now();
    this.walDirty = true;
  }

  private commitFollowed() {
    this.tail?.writer.commit(this.tail.reader.nextLineOffset);
  }

  private releaseStartupPagesOnce() {
    if (this.startupPagesReleased) return;
    this.startupPagesReleased = true;
    releaseStartupPagesLogged(this.o.dbPath, this.log);
  }

  /** The status line: on a terminal kept current, else logged once a minute. */
  private showStatus(tail: Tail, linesPerSecond: number, lag: number, rss: number) {
    this.lastCommitAt = tail.writer.lastCommitAt ?? this.lastCommitAt;
    const text = () => {
      this.lastCommitAt ??= committedAt(this.db, tail.source.id);
      const done = `${count(this.linesRead)} lines since start`;
      return `${basename(this.path)}: ${followerFigures({ linesPerSecond, behind: size(lag), lastCommitAt: this.lastCommitAt, rssBytes: rss, done })}`;
    };
    statusLine.update(text, (line) => this.log.info(line));
  }

  /** The heartbeat, the quiet checkpoint and the memory budget; false when the budget says restart. */
  private housekeeping(tail: Tail, now: number): boolean {
    this.lastHousekeeping = now;
    const rss = rssBytes();
    const size = fstatSync(tail.fd).size;
    const lag = size - tail.reader.nextLineOffset;
    this.window.add(now, this.linesRead, lag);
    const linesPerS = this.window.linesPerS();
    heartbeat(this.db, {
      mode: "live", sourceId: tail.source.id, rssBytes: rss, maxRssBytes: this.o.maxRssBytes, inputSize: size,
      linesPerS, lagBytes: lag, lagGrowthBytes: this.window.lagGrowth(),
      // in the heartbeat's own statement: the latencies cost no commit of their own
      commitTimes: this.commitTimes.changed ? this.commitTimes.toJSON() : undefined,
    });
    this.showStatus(tail, linesPerS ?? 0, lag, rss);
    if (this.walDirty && now - this.lastLineAt >= QUIET_CHECKPOINT_MS && !this.left.count) {
      tail.writer.commit(tail.reader.nextLineOffset);
      checkpointTruncate(this.db);
      this.walDirty = false;
    }
    const over = this.budget.exceeded(rss, now);
    if (!over) return true;
    const offset = tail.reader.nextLineOffset;
    this.log.warn(`${over}; restarting the live tail at byte ${offset}`);
    tail.writer.close(offset);
    this.reexecAt = offset;
    return false;
  }
}

/** When the source was last committed (by this process or an earlier one), in epoch ms. */
function committedAt(db: Database, sourceId: number): number | null {
  const r = db.query("SELECT last_commit_at AS at FROM sources WHERE id = ?").get(sourceId) as { at: string | null } | null;
  return r?.at ? Date.parse(r.at) : null;
}

/** Checkpoints, marks the ingester stopped and closes: what every clean exit of a live tail does. */
export function finishLive(db: Database, log: ConsolaInstance) {
  try {
    if (db.inTransaction) db.run("COMMIT");
    stopBackgroundCheckpoints(db, log);
    checkpointTruncate(db);
    releaseIngester(db);
  } finally {
    db.close();
  }
}
