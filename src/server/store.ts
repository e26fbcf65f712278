// The server's one read-only connection to the database, kept for its life, and reopened when
// `vacuum --full` puts a new file in place of the one it had open. `version` changes whenever any
// other connection commits (SQLite's data_version, plus the file's identity): live updates and the
// answer cache key on it.

import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { openDatabase } from "../db/open";

export class Store {
  private db_: Database;
  private ino: number;
  private reopens = 0;
  private dataVersion: { get(): unknown };
  /** Reports built since the version last changed: the overview, the sessions page and /api/report/session share one. */
  private readonly built = new Map<string, unknown>();
  private builtFor = "";

  constructor(readonly path: string) {
    this.db_ = openDatabase(path, { readonly: true, currentSchema: true });
    this.ino = this.fileIno();
    this.dataVersion = this.db_.query("PRAGMA data_version");
  }

  private fileIno(): number {
    try {
      return statSync(this.path).ino;
    } catch {
      return -1;
    }
  }

  get db(): Database {
    return this.db_;
  }

  /** A number that changes whenever the database does (cheap: one pragma and one stat). */
  version(): string {
    const ino = this.fileIno();
    if (ino !== this.ino && ino !== -1) {
      // vacuum --full renamed a new file over the path: read that one from now on
      const next = openDatabase(this.path, { readonly: true, currentSchema: true });
      this.db_.close();
      this.db_ = next;
      this.ino = ino;
      this.reopens++;
      this.dataVersion = this.db_.query("PRAGMA data_version");
    }
    const v = (this.dataVersion.get() as { data_version: number }).data_version;
    const version = `${this.reopens}.${v}`;
    if (version !== this.builtFor) {
      this.built.clear();
      this.builtFor = version;
    }
    return version;
  }

  /**
   * What `make` builds, once per version of the database (as the answers are cached: the version
   * read by the live poll) and for at most `maxMs` (figures that move with the clock).
   */
  memo<T>(key: string, maxMs: number, make: () => T): T {
    const hit = this.built.get(key) as { at: number; value: T } | undefined;
    if (hit && Date.now() - hit.at < maxMs) return hit.value;
    const value = make();
    if (this.built.size > 100) this.built.clear();
    this.built.set(key, { at: Date.now(), value });
    return value;
  }

  hasIndex(): boolean {
    return !!this.db_.query("SELECT 1 FROM agent_files LIMIT 1").get();
  }

  close() {
    this.db_.close();
  }
}
