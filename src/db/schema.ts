// The schema, as numbered migrations, one file each in migrations/. `PRAGMA user_version` holds
// the number of the last one applied; each runs in its own transaction (db/open.ts), so a database
// is always at exactly one version. A schema change is a new migration file, never an edit of one
// that has shipped.

import type { Database } from "bun:sqlite";
import { v1 } from "./migrations/001";
import { v2 } from "./migrations/002";
import { v3 } from "./migrations/003";
import { v4 } from "./migrations/004";
import { v5 } from "./migrations/005";
import { v6 } from "./migrations/006";
import { v7 } from "./migrations/007";
import { v8 } from "./migrations/008";
import { v9 } from "./migrations/009";
import { v10 } from "./migrations/010";
import { v11 } from "./migrations/011";
import { v12 } from "./migrations/012";
import { v13 } from "./migrations/013";
import { v14 } from "./migrations/014";
import { v15 } from "./migrations/015";
import { v16 } from "./migrations/016";
import { v17 } from "./migrations/017";
import { v18 } from "./migrations/018";

/** Marks a database as sluice's (`PRAGMA application_id`, "SLCE"). */
export const APPLICATION_ID = 0x534c4345;

export interface Migration {
  version: number;
  name: string;
  /** True when it rewrites existing rows, so a copy of the database is taken first. */
  rewritesData: boolean;
  up(db: Database): void;
}

export const MIGRATIONS: Migration[] = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** True when the database has this table (a database at an older schema may not). */
export function tableExists(db: Database, name: string): boolean {
  return !!db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name);
}
