// `sluice check`: SQLite's own integrity check, plus the invariants sluice's exactly-once promise
// rests on. Everything is read in one transaction, so a live ingester writing meanwhile cannot make
// the counts disagree. The result is recorded in the `checks` table, where `sluice stats` finds it.

import { Database, type Database as Db } from "bun:sqlite";
import { ingesterRunning, readIngester } from "../db/ingester";
import { missingIndexes } from "../db/indexes";
import { openDatabase } from "../db/open";
import { BUSY_TIMEOUT_MS } from "../db/settings";
import { tableExists } from "./db-info";

export interface CheckResult {
  db: string;
  kind: "quick" | "full";
  ok: boolean;
  problems: string[];
  rows: number;
  sources: number;
  ms: number;
  /** False when the result could not be written to the database (read-only, or an old schema). */
  recorded: boolean;
}

const MAX_LISTED = 20;

export function checkDatabase(dbPath: string, full: boolean): CheckResult {
  const started = performance.now();
  const kind = full ? "full" : "quick";
  const db = openDatabase(dbPath, { readonly: true });
  const problems: string[] = [];
  let rows = 0, sources = 0;
  try {
    try {
      const verdict = db.query(`PRAGMA ${kind}_check(${MAX_LISTED})`).all() as Array<Record<string, string>>;
      for (const r of verdict) {
        const text = Object.values(r)[0]!;
        if (text !== "ok") problems.push(`SQLite ${kind}_check: ${text}`);
      }
    } catch (err) {
      problems.push(`SQLite ${kind}_check could not finish: ${(err as Error).message}`);
    }
    db.transaction(() => {
      [rows, sources] = checkInvariants(db, problems);
    })();
  } catch (err) {
    problems.push(`the database is damaged: reading its rows failed (${(err as Error).message})`);
  } finally {
    db.close();
  }
  const result: CheckResult = { db: dbPath, kind, ok: problems.length === 0, problems, rows, sources, ms: Math.round(performance.now() - started), recorded: false };
  result.recorded = recordCheck(dbPath, result);
  return result;
}

/** Appends to `problems` whatever breaks sluice's invariants; returns [rows, sources]. */
function checkInvariants(db: Db, problems: string[]): [number, number] {
  const ing = readIngester(db);
  const backfilling = ingesterRunning(ing) && ing!.mode === "backfill";
  // A backfill drops the indexes on purpose and builds them at its end.
  if (!backfilling) for (const name of missingIndexes(db)) problems.push(`index ${name} is missing; the next 'sluice ingest' of any input rebuilds it`);

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
  return [rows, src.length];
}

function recordCheck(dbPath: string, r: CheckResult): boolean {
  let db: Database | null = null;
  try {
    db = new Database(dbPath, { readwrite: true, create: false });
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!tableExists(db, "checks")) return false;
    db.run("INSERT INTO checks (at, kind, ok, problems) VALUES (?, ?, ?, ?)", [new Date().toISOString(), r.kind, r.ok ? 1 : 0, JSON.stringify(r.problems)]);
    return true;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}
