// Migration 8: agent files known by identity (a renamed file keeps its row; a tail fingerprint
// notices a rewrite past the first bytes), and every stored time in the canonical UTC form.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Database } from "bun:sqlite";
import type { Migration } from "../schema";
import { rebuildTable } from "./rebuild-table";

/** True when the text is a day that exists: date() alone would take February 30 as it is. */
const realDay = (day: string) => `date(${day}, '+0 days') IS ${day}`;

/** True for `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real moment: what the index stores from this version on. */
const canonical = (col: string) => `(${col} GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z'
  AND ${realDay(`substr(${col}, 1, 10)`)} AND substr(${col}, 12, 2) < '24' AND substr(${col}, 1, 4) >= '1970')`;

/**
 * The canonical form of any other stored time, or NULL: an offset applied, a time without a zone
 * read as UTC, a date alone as noon UTC of that day; an impossible date (February 30, which SQLite
 * would roll into March), a year past 9999 or text that is no time gives NULL.
 */
const canonicalized = (col: string) => `(CASE
  WHEN ${col} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND ${realDay(col)} THEN ${col} || 'T12:00:00.000Z'
  WHEN ${realDay(`substr(${col}, 1, 10)`)} AND substr(${col}, 1, 4) >= '1970'
    THEN strftime('%Y-%m-%dT%H:%M:%fZ', ${col} || iif(${col} GLOB '*[zZ]' OR ${col} GLOB '*[+-][0-9][0-9]:[0-9][0-9]', '', 'Z'))
  END)`;

export const v8: Migration = {
  version: 8,
  name: "agent files known by identity; stored times in one canonical form",
  rewritesData: true,
  up(db) {
    // A path is where the file was last found, no longer its key: a file renamed (its project
    // directory renamed) keeps its row and its session, and a new file may appear at the old path.
    rebuildTable(db, "agent_files", (sql) => sql.replace(/\bpath(\s+)TEXT NOT NULL UNIQUE,/, "path$1TEXT NOT NULL,"));
    db.run(`
      ALTER TABLE agent_files ADD COLUMN tail_fingerprint TEXT;  -- hash of the bytes just before indexed_offset
      CREATE INDEX agent_files_by_session ON agent_files(session_id);
      -- the index follower looks up only the files a watch named: by path, and by device and inode
      CREATE INDEX agent_files_by_path ON agent_files(path);
      CREATE INDEX agent_files_by_inode ON agent_files(dev, ino);
    `);
    canonicalTimes(db);
  },
};

/**
 * Stored times in the canonical form. A call whose time is no time is dated by the call before it
 * in its file, or else '' (undated: reports show it as such). The usage buckets are summed again.
 */
function canonicalTimes(db: Database) {
  db.run(`UPDATE turns SET at = coalesce(${canonicalized("at")}, '') WHERE NOT ${canonical("at")}`);
  db.run(`
    UPDATE turns SET at = coalesce((SELECT p.at FROM turns p WHERE p.file_id = turns.file_id AND p.byte_offset < turns.byte_offset AND p.at <> ''
                                    ORDER BY p.byte_offset DESC LIMIT 1), '')
    WHERE at = ''`);
  db.run(`UPDATE invocations SET at = ${canonicalized("at")} WHERE at IS NOT NULL AND NOT ${canonical("at")}`);
  for (const col of ["first_at", "last_at"]) db.run(`UPDATE sessions SET ${col} = ${canonicalized(col)} WHERE ${col} IS NOT NULL AND NOT ${canonical(col)}`);
  for (const col of ["first_seen", "last_seen"]) db.run(`UPDATE models SET ${col} = ${canonicalized(col)} WHERE ${col} IS NOT NULL AND NOT ${canonical(col)}`);
  const bucket = `iif(at = '', '', substr(at, 1, 14) || printf('%02d', CAST(substr(at, 15, 2) AS INTEGER) / 15 * 15))`;
  const counts = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"];
  db.run("DELETE FROM usage_buckets");
  db.run(`
    INSERT INTO usage_buckets (bucket, model, calls, ${counts.join(", ")}, input_above, output_above, cache_read_above, cache_write_5m_above, cache_write_1h_above)
    SELECT ${bucket}, coalesce(model, 'unknown'), count(*), ${counts.map((c) => `sum(${c})`).join(", ")}, ${counts.map((c) => `sum(max(${c} - 200000, 0))`).join(", ")}
    FROM turns GROUP BY 1, 2`);
}
