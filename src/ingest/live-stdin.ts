// `sluice ingest - --follow`: stdin, backfilled and then tailed by one process. Exec is impossible
// here without losing what the pipe has buffered, so after --idle-ms without input the process
// switches to live settings in place: it builds the indexes, moves to WAL and a small cache, and
// keeps reading until stdin closes.

import type { ConsolaInstance } from "consola";
import { EnvelopeExtractor } from "../extract/envelope";
import { claimIngester, heartbeat } from "../db/writer-lock";
import { createIndexes, dropAllowlistedIndexes } from "./sse-indexes";
import { openDatabase } from "../db/open";
import { checkpointInBackground } from "../db/checkpoints";
import { BULK_CACHE_MB, setCacheMb, useBackfillSettings, useLiveSettings } from "../db/settings";
import { createSource, stdinAgainWarning } from "./sources";
import { SseWriter } from "./sse-writer";
import { LineReader } from "../input/line-reader";
import { ChunkQueue, pumpStdin } from "../input/stdin";
import type { IngestOptions, IngestSummary } from "./backfill";
import { ingestFinalLine, ingestLines } from "./line-loop";
import { onStopSignals } from "../runtime/signals";
import { followerFigures, statusLine } from "../runtime/status-line";
import { count, size } from "../runtime/format";
import { finishLive, type LiveOptions } from "./live";
import { releaseStartupPagesLogged } from "../runtime/page-release";
import { peakRssBytes, rssBytes } from "../runtime/proc";
import { Histogram } from "../runtime/histogram";

export interface LiveStdinOptions extends LiveOptions {
  backfill: IngestOptions;
  idleMs: number;
}

export async function runLiveStdin(o: LiveStdinOptions, log: ConsolaInstance, onBackfillDone: (s: IngestSummary) => void): Promise<void> {
  const started = performance.now();
  const db = openDatabase(o.dbPath, { create: true, pageSize: o.pageSize });
  const queue = new ChunkQueue();
  let stopping = false;
  const onStop = () => {
    stopping = true;
    queue.poke();
  };
  const removeSignals = onStopSignals(onStop);
  try {
    claimIngester(db, o.dbPath, "backfill", "-");
    useBackfillSettings(db, o.backfill.cacheMb);
    dropAllowlistedIndexes(db);
    setCacheMb(db, Math.min(o.backfill.cacheMb, BULK_CACHE_MB));
    const again = stdinAgainWarning(db);
    if (again) log.warn(again);
    const source = createSource(db, "-", "stdin", null);
    const extractor = new EnvelopeExtractor();
    const writer = new SseWriter(db, source.id, null, 0, { rows: o.backfill.batchRows, ms: o.backfill.batchMs }, { sourceId: source.id });
    const reader = new LineReader(-1, 0, { maxLine: o.maxLine, stream: true, read: (b, off, len) => queue.read(b, off, len) }, (l) =>
      writer.reject(l.offset, l.length, "longer than --max-line", l.head),
    );
    const pump = pumpStdin(queue);
    let live = false;
    let lastBeat = 0;
    while (!stopping) {
      ingestLines(reader, extractor, writer);
      reader.resume();
      if (live) writer.commit(reader.nextLineOffset);
      else writer.commitIfDue(reader.nextLineOffset);
      if (queue.ended && queue.empty) break;
      const now = performance.now();
      if (!live && now - queue.lastDataAt >= o.idleMs) {
        writer.commit(reader.nextLineOffset);
        onBackfillDone(summary(writer, reader.nextLineOffset, source.id, started));
        createIndexes(db);
        useLiveSettings(db, o.liveCacheMb);
        checkpointInBackground(db, o.dbPath, log);
        writer.setPolicy({ rows: o.batchRows, ms: o.batchMs });
        claimIngester(db, o.dbPath, "live", "-");
        writer.commitTimes = new Histogram(); // the live commits only: the backfill's batches are another matter
        reader.shrink(256 << 10);
        releaseStartupPagesLogged(o.dbPath, log);
        live = true;
        log.info(`no input for ${o.idleMs} ms: stdin backfill done at byte ${reader.nextLineOffset}; now live in place`);
      }
      if (now - lastBeat >= 1000) {
        lastBeat = now;
        const rss = rssBytes();
        heartbeat(db, { mode: live ? "live" : "backfill", sourceId: source.id, rssBytes: rss, maxRssBytes: live ? o.maxRssBytes : null, inputSize: queue.received, linesPerS: null, lagBytes: null, lagGrowthBytes: null,
          commitTimes: writer.commitTimes?.changed ? writer.commitTimes.toJSON() : undefined });
        statusLine.update(() => {
          const lines = writer.rows + writer.rejects;
          const linesPerSecond = lines / Math.max((now - started) / 1000, 1e-3);
          const behind = size(queue.received - reader.nextLineOffset);
          return `stdin: ${followerFigures({ linesPerSecond, behind, lastCommitAt: writer.lastCommitAt, rssBytes: rss, done: `${count(lines)} lines since start` })}`;
        }, (line) => log.info(line));
      }
      await queue.wait(live ? 1000 : Math.min(o.idleMs, 250));
    }
    if (!stopping) {
      // stdin closed: a last line without '\n' can never be completed
      await pump;
      ingestLines(reader, extractor, writer);
      ingestFinalLine(reader, extractor, writer, true);
    }
    writer.close(reader.nextLineOffset);
    if (!live) {
      onBackfillDone(summary(writer, reader.nextLineOffset, source.id, started));
      createIndexes(db);
    }
    log.info(`stdin ${stopping ? "stopped by a signal" : "closed"}: committed through byte ${reader.nextLineOffset}`);
  } finally {
    removeSignals();
    statusLine.clear();
    finishLive(db, log);
  }
  if (stopping) process.exit(0); // the stdin pump would otherwise keep the process alive
}

function summary(w: SseWriter, committed: number, sourceId: number, started: number): IngestSummary {
  const secs = (performance.now() - started) / 1000;
  const lines = w.rows + w.rejects;
  return {
    input: "-", db: "", sourceId: sourceId, startOffset: 0, committedOffset: committed, lines, rows: w.rows, rejects: w.rejects,
    bytes: committed, pendingBytes: 0, seconds: secs, loadSeconds: secs, indexSeconds: 0, indexesBuilt: 0,
    linesPerSecond: Math.round(lines / Math.max(secs, 1e-6)), mbPerSecond: committed / 1e6 / Math.max(secs, 1e-6),
    peakRssMb: peakRssBytes() / (1 << 20), jobs: 1, slowPathLines: 0,
  };
}
