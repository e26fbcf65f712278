// The live tail of a file: follows the path for ever under a strict memory budget, committing
// appended lines within tens of milliseconds. Rotation, truncation and a vanished path are handled
// the way the best log shippers do, without their losses: a rotated file is drained to its end
// through the open descriptor before the new one is read from byte 0, and every identity change is
// recorded in the database.

import type { Database } from "bun:sqlite";
import type { ConsolaInstance } from "consola";
import { fstatSync, openSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { EnvelopeExtractor } from "../extract/envelope";
import { claimIngester, heartbeat, releaseIngester } from "../db/ingester";
import { openDatabase } from "../db/open";
import { createIndexes } from "../db/indexes";
import { checkpointInBackground, stopBackgroundCheckpoints } from "../db/background-checkpoints";
import { checkpointTruncate, useLiveSettings } from "../db/settings";
import { filesByInode, leftSourcesFor, recordSourceEvent, resolveFileSource, retireSource, sourceForRewrittenLeftFile, type SourceRow } from "../db/sources";
import { SseWriter } from "../db/sse-writer";
import { fingerprintOf } from "../input/fingerprint";
import { closeQuietly, FileFollower } from "../input/file-follower";
import { LineReader } from "../input/line-reader";
import { RewriteGuard } from "../input/rewrite-guard";
import { adoptInheritedFd, execSelf } from "./handover";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { releaseStartupPagesLogged } from "./memory";
import { rssBytes } from "./progress";
import { MemoryBudget, onStopSignals } from "./memory-budget";
import { MinuteWindow } from "./minute-window";
import { checkStartOffset } from "./start-offset";

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
/** The live tail's read buffer; it grows only for a longer line, and shrinks back after. */
const LIVE_BUFFER_BYTES = 256 << 10;

interface Tail {
  fd: number;
  source: SourceRow;
  reader: LineReader;
  writer: SseWriter;
  guard: RewriteGuard;
}

/** A file that left the path (rotated or deleted) but may still be written through open descriptors. */
interface Draining extends Tail {
  kind: string;
  leftAt: number;
  lastGrowthAt: number;
}

/** A file is quiet when it has not grown for this long; only then is a drained file closed. */
const QUIET_MS = 1000;
/**
 * After this long without a new line, the WAL is folded back and truncated: the automatic
 * checkpoints bound it while lines flow, and a quiet period leaves it at zero bytes, so backups,
 * readers and `sluice stats` see a small WAL, at no cost to a busy tail.
 */
const QUIET_CHECKPOINT_MS = 5000;

export async function runLiveFile(o: LiveOptions, log: ConsolaInstance): Promise<void> {
  const path = resolve(o.input);
  const db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
  claimIngester(db, o.dbPath, "live", path);
  useLiveSettings(db, o.liveCacheMb);
  checkpointInBackground(db, o.dbPath, log);
  // A live tail that starts without a backfill (a restart) still wants its indexes.
  createIndexes(db);

  const follower = new FileFollower(path);
  follower.watch();
  const extractor = new EnvelopeExtractor();
  let stopping = false;
  let reopen = false;
  const onStop = () => {
    stopping = true;
    follower.poke();
  };
  const onHup = () => {
    reopen = true;
    follower.poke();
  };
  const removeSignals = onStopSignals(onStop);
  process.on("SIGHUP", onHup);

  let firstOpen = true;
  // The backfill's own descriptor: the file it read, wherever its path points by now.
  let inherited = o.inheritedFd === null ? null : adoptInheritedFd(o.inheritedFd);
  if (o.inheritedFd !== null && inherited === null) log.warn(`--input-fd ${o.inheritedFd} is not an open file; opening ${path} instead`);
  let tail: Tail | null = null;
  const budget = new MemoryBudget(o.maxRssBytes);
  let lastHousekeeping = 0;
  const window = new MinuteWindow();
  window.add(performance.now(), 0, 0); // the rate counts from the start, not from the first heartbeat
  // Lines read across every file, for the rate; when the last one came, for the quiet checkpoint.
  let linesRead = 0;
  let lastLineAt = performance.now();
  let walDirty = false;
  // The source a rotated or vanished file had, until the next file at the path gets a source.
  let pendingFollows: { id: number; kind: string } | null = null;
  let reexecAt: number | null = null;
  let startupPagesReleased = false;

  // Opens whatever is at the path now, as its source (new, or resumed at its committed offset).
  const openTail = (fd: number, truncated = false): Tail => {
    const guard = new RewriteGuard(fd);
    const ident = guard.identity();
    const r = resolveFileSource(db, path, fd, ident, truncated);
    if (r.change === "truncated" || r.change === "replaced") log.warn(`${path} was ${r.change} (${r.detail}); reading it from byte 0 as source ${r.source.id}`);
    let start = r.source.committed_offset;
    if (firstOpen && o.startOffset !== null) {
      // The hand-over's offset belongs to the file the backfill read. If that file was truncated
      // or replaced during the exec, this is a new source, read from byte 0 (the model-based
      // follow test found this race).
      if (r.change === "same" || r.change === "moved") {
        try {
          start = checkStartOffset(fd, o.startOffset, ident.size, start, log);
        } catch (err) {
          // The offset was right when the backfill committed it; a copytruncate since (after the
          // identity check above) makes it wrong. From the committed offset, the next check sees
          // the truncation and reads the file again from byte 0.
          if (o.startOffset !== r.source.committed_offset) throw err;
          log.warn(`${path} changed during the hand-over (${(err as Error).message}); going on from the committed offset`);
        }
      }
      else log.warn(`--start-offset ${o.startOffset} was for the file before it was ${r.change}; reading the new one from byte 0`);
    }
    firstOpen = false;
    log.info(`following ${path} from byte ${start} (source ${r.source.id})`);
    return tailOf(fd, r.source, start, guard);
  };

  const tailOf = (fd: number, source: SourceRow, start: number, guard = new RewriteGuard(fd)): Tail => {
    const writer = new SseWriter(db, source.id, null, start, { rows: o.batchRows, ms: o.batchMs }, { sourceId: source.id });
    const reader = new LineReader(fd, start, { maxLine: o.maxLine, bufferBytes: LIVE_BUFFER_BYTES, read: guard.read }, (l) => writer.reject(l.offset, l.length, "longer than --max-line", l.head));
    return { fd, source, reader, writer, guard };
  };

  // A file rotated away while no sluice ran (killed, restarting, or inside the hand-over exec)
  // still holds the lines past its committed offset. If it is still in the directory (the same
  // device and inode, the same first bytes), it is drained like any rotated file before the path
  // is followed: log shippers that only know the path lose those lines. So is a file that had
  // left the path before the stop and was still being drained: its source is retired already,
  // but a kill inside --rotate-wait-ms left part of it unread (the model-based follow test found
  // this). `followed` is the file the tail goes on with, which is never drained beside it.
  const recoverLeftFiles = (followed: { dev: number; ino: number } | null) => {
    const sources = leftSourcesFor(db, path);
    if (!sources.length) return;
    const inDir = filesByInode(dirname(path)); // empty when there is no directory (yet)
    let atPath: string | null = null;
    try {
      const st = statSync(path);
      atPath = `${st.dev}:${st.ino}`;
    } catch {}
    // Only a file named as rotation names it (the path's name and more: .1, -20261201, .gz): an
    // inode is reused once its file is deleted, and a source followed while empty has a fingerprint
    // of no bytes, which any file matches. The model-based test saw the tail's own stderr file take
    // the inode of a deleted capture file, and be read as one.
    const rotatedName = basename(path);
    for (const prev of sources) {
      const key = `${prev.dev}:${prev.ino}`;
      const candidate = inDir.get(key);
      if (!candidate || !basename(candidate).startsWith(rotatedName) || key === atPath || (followed && key === `${followed.dev}:${followed.ino}`)) continue;
      if (prev.state === "active" && followed) continue; // the inherited descriptor is that file
      const fd = openSync(candidate, "r");
      const size = fstatSync(fd).size;
      const unread = prev.state === "active" ? size >= prev.committed_offset : size > prev.committed_offset;
      if (!unread || (prev.fingerprint !== null && fingerprintOf(fd, prev.fingerprint_len) !== prev.fingerprint)) {
        closeQuietly(fd);
        continue;
      }
      if (prev.state === "active") {
        retireSource(db, prev.id, "rotated", `found as ${candidate} at start; read on from byte ${prev.committed_offset}`);
        pendingFollows = { id: prev.id, kind: "rotated" };
      }
      const now = performance.now();
      draining.push({ ...tailOf(fd, prev, prev.committed_offset), kind: "rotated", leftAt: now, lastGrowthAt: now });
      log.info(`${path}: ${candidate} (source ${prev.id}) left the path while sluice was not running; reading it on from byte ${prev.committed_offset}`);
    }
  };

  // Reads everything complete that is there now. It commits once the oldest uncommitted line has
  // waited --live-batch-ms (or the batch is full): at a steady trickle that is a few commits a
  // second instead of one per write, for the same latency bound.
  const drain = (t: Tail) => {
    readLines(t);
    // A file first opened shorter than the fingerprint gets a longer one as it grows (from the
    // bytes the guard has seen), so that a rewrite of its first bytes is noticed after a restart.
    const seen = t.guard.fingerprint();
    if (seen.fingerprintLen > t.source.fingerprint_len && !t.guard.rewritten) {
      db.run("UPDATE sources SET fingerprint = ?, fingerprint_len = ? WHERE id = ?", [seen.fingerprint, seen.fingerprintLen, t.source.id]);
      t.source = { ...t.source, fingerprint: seen.fingerprint, fingerprint_len: seen.fingerprintLen };
    }
    t.writer.commitIfDue(t.reader.nextLineOffset);
    t.reader.resume();
    t.reader.shrink(LIVE_BUFFER_BYTES);
  };

  // Files that left the path: still read, each committed on its own (never in a transaction with
  // another source), until --rotate-wait-ms has passed and they have been quiet for a second.
  const readLines = (t: Tail) => {
    const before = t.writer.linesWritten;
    ingestLines(t.reader, extractor, t.writer);
    const n = t.writer.linesWritten - before;
    if (n > 0) {
      linesRead += n;
      lastLineAt = performance.now();
      walDirty = true;
    }
  };

  const draining: Draining[] = [];
  const drainLeftFiles = (now: number, finishAll: boolean) => {
    for (let i = draining.length - 1; i >= 0; i--) {
      let d = draining[i]!;
      // A file can be truncated and rewritten after it left the path (copytruncate, then a delete):
      // its new content is reachable only through this descriptor, so it is read from byte 0 as a
      // new source. Twice at most per pass: a file rewritten again at once is read on the next.
      for (let attempt = 0; attempt < 2; attempt++) {
        if (fstatSync(d.fd).size > d.reader.nextLineOffset) {
          tail?.writer.commit(tail.reader.nextLineOffset);
          readLines(d);
          d.writer.commit(d.reader.nextLineOffset);
          d.reader.resume();
          d.lastGrowthAt = now;
        }
        if (!d.guard.rewritten && fstatSync(d.fd).size >= d.reader.nextLineOffset) break;
        tail?.writer.commit(tail.reader.nextLineOffset); // one source per transaction
        d.writer.close(d.reader.nextLineOffset);
        const guard = new RewriteGuard(d.fd);
        const source = sourceForRewrittenLeftFile(db, d.source, guard.identity(), d.reader.nextLineOffset);
        log.warn(`${path}: the file of source ${d.source.id}, which had left the path, was truncated or rewritten below byte ${d.reader.nextLineOffset}; reading it from byte 0 as source ${source.id}`);
        d = draining[i] = { ...tailOf(d.fd, source, 0, guard), kind: d.kind, leftAt: d.leftAt, lastGrowthAt: now };
      }
      if (finishAll || (now - d.leftAt >= o.rotateWaitMs && now - d.lastGrowthAt >= QUIET_MS)) {
        tail?.writer.commit(tail.reader.nextLineOffset);
        // Nobody will finish its last line now: a line without '\n' is taken or rejected.
        ingestFinalLine(d.reader, extractor, d.writer, true);
        d.writer.close(d.reader.nextLineOffset);
        closeQuietly(d.fd);
        log.info(`${path}: source ${d.source.id} (${d.kind}) read to its end, byte ${d.reader.nextLineOffset}`);
        draining.splice(i, 1);
      }
    }
  };

  // (With the backfill's descriptor in hand, that file is the tail itself, wherever it went.)
  recoverLeftFiles(inherited === null ? null : fstatSync(inherited));
  try {
    while (!stopping) {
      if (draining.length) drainLeftFiles(performance.now(), false);
      if (!tail) {
        const fd = inherited ?? follower.open();
        inherited = null;
        if (fd === null) {
          await follower.wait(draining.length ? Math.min(o.pollMs, 100) : o.pollMs);
          continue;
        }
        tail = openTail(fd);
        if (!startupPagesReleased) {
          startupPagesReleased = true;
          releaseStartupPagesLogged(o.dbPath, log);
        }
      }
      const now = performance.now();
      const housekeeping = now - lastHousekeeping >= HOUSEKEEPING_MS;
      const change = tail.guard.rewritten ? "truncated" : follower.check(tail.fd, tail.reader.nextLineOffset);
      if (change === "rotated" || change === "missing") {
        pendingFollows = { id: tail.source.id, kind: change };
        tail.writer.commit(tail.reader.nextLineOffset);
        // Retired from the path at once (the next file there is judged on its own), but still read.
        retireSource(db, tail.source.id, change, change === "rotated" ? "another file is at the path" : "the path disappeared");
        draining.push({ ...tail, kind: change, leftAt: now, lastGrowthAt: now });
        tail = null;
        log.info(`${path}: ${change}; reading the old file on for ${o.rotateWaitMs} ms`);
        if (change === "missing") log.warn(`${path} disappeared; waiting for it to come back`);
        continue;
      }
      if (change === "truncated") {
        log.warn(`${path} was truncated or rewritten below byte ${tail.reader.nextLineOffset}; reading it again from byte 0`);
        tail.writer.close(tail.reader.nextLineOffset);
        // The same open file, as a new source from byte 0 (resolveFileSource records the change).
        // Not reopened by path: by now the path may name another file, or none, and the lines
        // written after the truncation are only reachable through this descriptor.
        tail = openTail(tail.fd, true);
        continue;
      }
      if (reopen) {
        reopen = false;
        log.info(`SIGHUP: reopening ${path}`);
        tail.writer.close(tail.reader.nextLineOffset);
        closeQuietly(tail.fd);
        tail = null;
        continue;
      }
      drain(tail);
      if (housekeeping) {
        lastHousekeeping = now;
        const rss = rssBytes();
        const size = fstatSync(tail.fd).size;
        window.add(now, linesRead, size - tail.reader.nextLineOffset);
        heartbeat(db, {
          mode: "live", sourceId: tail.source.id, rssBytes: rss, maxRssBytes: o.maxRssBytes, inputSize: size,
          linesPerS: window.linesPerS(), lagBytes: size - tail.reader.nextLineOffset, lagGrowthBytes: window.lagGrowth(),
        });
        if (walDirty && now - lastLineAt >= QUIET_CHECKPOINT_MS && !draining.length) {
          tail.writer.commit(tail.reader.nextLineOffset);
          checkpointTruncate(db);
          walDirty = false;
        }
        const over = budget.exceeded(rss, now);
        if (over) {
          const offset = tail.reader.nextLineOffset;
          log.warn(`${over}; restarting the live tail at byte ${offset}`);
          tail.writer.close(offset);
          reexecAt = offset;
          break;
        }
      }
      if (pendingFollows !== null && tail) {
        recordSourceEvent(db, tail.source.id, "follows", `continues source ${pendingFollows.id} after it was ${pendingFollows.kind}`);
        pendingFollows = null;
      }
      await follower.wait(Math.min(o.pollMs, HOUSEKEEPING_MS, tail ? tail.writer.msUntilDue() : Infinity, draining.length ? 100 : Infinity));
    }
    if (stopping && tail) {
      tail.writer.close(tail.reader.nextLineOffset);
      log.info(`stopping: committed through byte ${tail.reader.nextLineOffset}`);
    }
    drainLeftFiles(performance.now(), true);
  } finally {
    removeSignals();
    process.off("SIGHUP", onHup);
    follower.close();
    if (tail) closeQuietly(tail.fd);
    for (const d of draining) closeQuietly(d.fd);
    finishLive(db, log);
  }
  if (reexecAt !== null) await execSelf(o.reexecArgs(reexecAt), process.env);
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
