// An index in memory with the local schema: what the team reports fill from PostgreSQL, so that a
// report on the team store runs the very code (and SQL) of a report on this machine's database.

import { Database } from "bun:sqlite";
import { MIGRATIONS } from "./schema";

export function memoryIndex(): Database {
  const db = new Database(":memory:");
  db.transaction(() => {
    for (const m of MIGRATIONS) m.up(db);
  })();
  return db;
}
