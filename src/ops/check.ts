// `sluice check`: SQLite's own integrity check, plus the invariants sluice's exactly-once promise
// rests on. Everything is read in one transaction, so a live ingester writing meanwhile cannot make
// the counts disagree. The result is recorded in the `checks` table, where `sluice stats` finds it.

import { Database, type Database as Db } from "bun:sqlite";
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

/**
 * The invariants of one part of the database (the capture's tables, say), checked inside one read
 * transaction: appends what breaks them to `problems`, and returns the counts it read. The owner
 * of the tables writes it; the command that runs the check passes it in.
 */
export type Invariants = (db: Db, problems: string[]) => { rows?: number; sources?: number };

export function checkDatabase(dbPath: string, full: boolean, invariants: Invariants[]): CheckResult {
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
      for (const check of invariants) {
        const counted = check(db, problems);
        rows += counted.rows ?? 0;
        sources += counted.sources ?? 0;
      }
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
