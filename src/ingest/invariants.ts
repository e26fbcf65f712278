// The capture's invariants, for \`sluice check\`: every row belongs to a source, offsets rise within a
// source and stay below its committed offset, counts agree, every row has its raw line, and the
// allowlisted indexes exist (except during a backfill, which drops them on purpose, and after one
// that was interrupted: the same command resumes it and builds them).

import type { Database } from "bun:sqlite";
import { ingesterRunning, readIngester } from "../db/writer-lock";
import { missingIndexes } from "./sse-indexes";

/** Appends to `problems` whatever breaks the capture's invariants; returns the rows and sources it read. */
export function checkCaptureInvariants(db: Database, problems: string[]): { rows: number; sources: number } {
  // a database used only for the deep index has no capture to judge
  if (!db.query("SELECT 1 FROM sources LIMIT 1").get() && !db.query("SELECT 1 FROM sse_rows LIMIT 1").get()) return { rows: 0, sources: 0 };
  const ing = readIngester(db);
  const backfilling = ingesterRunning(ing) && ing!.mode === "backfill";
  // A backfill drops the indexes on purpose and builds them at its end.
  if (!backfilling && !lastBackfillInterrupted(db)) for (const name of missingIndexes(db)) problems.push(`index ${name} is missing; the next 'sluice ingest' of any input rebuilds it`);

  const src = db.query("SELECT id, path, committed_offset, lines, rejects FROM sources").all() as Array<{ id: number; path: string; committed_offset: number; lines: number; rejects: number }>;
  const byId = new Map(src.map((s) => [s.id, { ...s, rows: 0, lastOffset: -1, disorder: 0 }]));
  let unknownSource = 0, rows = 0;
  // One pass in id order (the order rows were committed): offsets must rise within each source.
  // Iterated, never loaded whole: a database of ten million rows is checked in constant memory.
  for (const r of db.query("SELECT file_id AS f, byte_offset AS o FROM sse_rows ORDER BY id").iterate() as Iterable<{ f: number; o: number }>) {
    rows++;
    const s = byId.get(r.f);
    if (!s) {
      unknownSource++;
      continue;
    }
    if (r.o <= s.lastOffset) s.disorder++;
    s.lastOffset = r.o;
    s.rows++;
  }
  if (unknownSource) problems.push(`${unknownSource} rows name a source that does not exist`);
  for (const s of byId.values()) {
    const where = `source ${s.id} (${s.path})`;
    if (s.disorder) problems.push(`${where}: ${s.disorder} rows whose byte offset does not rise in commit order (a line ingested twice, or out of order)`);
    if (s.lastOffset >= s.committed_offset) problems.push(`${where}: a row at byte ${s.lastOffset}, at or past the committed offset ${s.committed_offset}`);
    if (s.rows !== s.lines) problems.push(`${where}: ${s.rows} rows, but its committed line count is ${s.lines}`);
  }
  const rejectPast = db.query("SELECT count(*) AS n FROM rejects j JOIN sources s ON s.id = j.file_id WHERE j.byte_offset >= s.committed_offset").get() as { n: number };
  if (rejectPast.n) problems.push(`${rejectPast.n} rejects at or past their source's committed offset`);
  const raw = (db.query("SELECT count(*) AS n FROM sse_raw").get() as { n: number }).n;
  if (raw !== rows) problems.push(`${rows} rows in sse_rows but ${raw} in sse_raw: every row needs its raw line`);
  const orphans = (db.query("SELECT count(*) AS n FROM sse_decoded d WHERE NOT EXISTS (SELECT 1 FROM sse_rows r WHERE r.id = d.id)").get() as { n: number }).n;
  if (orphans) problems.push(`${orphans} rows in sse_decoded without their sse_rows row`);
  return { rows, sources: src.length };
}

/**
 * True when the last thing that happened to the capture's sources was a backfill stopped by a
 * signal (backfill.ts records it): its indexes may not be built yet, which is no damage; running
 * the same command resumes the backfill and builds them.
 */
function lastBackfillInterrupted(db: Database): boolean {
  const last = db.query("SELECT kind FROM source_events ORDER BY id DESC LIMIT 1").get() as { kind: string } | null;
  return last?.kind === "interrupted";
}
