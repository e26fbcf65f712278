// Opens sluice's database: creates it with mode 0600, refuses anything that is not sluice's
// without writing a byte to it, and brings the schema up to date through the migrations.

import { constants, Database } from "bun:sqlite";
import { accessSync, chmodSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describeSqliteError, hotJournal, SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from "./schema";
import { BUSY_TIMEOUT_MS } from "./settings";
import { DatabaseReplaced, fileAt, fileReplaced, isReplaced, rememberFile, whenUnlocked } from "./writer-lock";

export interface OpenOptions {
  /** Create the database when it does not exist (ingest does; status and check do not). */
  create?: boolean;
  readonly?: boolean;
  /**
   * A read-only open that needs the current schema (the reports read what the latest migrations
   * made): an older database is refused with a line that names the command that upgrades it.
   */
  currentSchema?: boolean;
  /** Page size for a new database; it cannot change later without a VACUUM. */
  pageSize?: number;
}

const SQLITE_HEADER = "SQLite format 3\0";

/** How many times an open follows the path to a file that `vacuum --full` put in place of the one it found. */
const REPLACED_RETRIES = 5;

export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  for (let attempt = 1; ; attempt++) {
    const fresh = prepareFile(path, opts);
    // The file about to be opened: a path that names another later was replaced under it.
    const file = fileAt(path);
    let db: Database;
    try {
      db = openOnce(path, opts, fresh, file);
    } catch (err) {
      // A file replaced while this open read it can fail in any way (SQLite may read the new
      // file's WAL as the old one's: "malformed database schema"): that is no damage, the path
      // names a whole database, and nothing was written to the old file (migrations look first).
      if (attempt < REPLACED_RETRIES && file !== null && fileAt(path) !== file) {
        Bun.sleepSync(20);
        continue;
      }
      throw err;
    }
    // The file was replaced (its rename came while this open waited for the lock): the path now
    // names the new one. Nothing was written to the old file.
    if (!whenUnlocked(db, path, () => isReplaced(db)) || attempt === REPLACED_RETRIES) return db;
    db.close();
    Bun.sleepSync(20);
  }
}

/** How many times a command runs on the file that `vacuum --full` put in place of the one it had open. */
const REPLACED_RUNS = 3;

/**
 * Runs `work` on a connection to the database at `path`, and again on a new connection when
 * `vacuum --full` replaced the file meanwhile. `work` finds that out before it takes a lock on the
 * old file once the rename is done, and so before it writes there (whenUnlocked, then its claim),
 * so running it again on the new file neither loses nor doubles anything. `again` says what happens.
 */
export async function onCurrentFile<T>(path: string, opts: OpenOptions, work: (db: Database) => Promise<T>, log: { info(m: string): void }, again: string): Promise<T> {
  for (let run = 1; ; run++) {
    let db: Database | null = null;
    try {
      db = openDatabase(path, opts);
      return await work(db);
    } catch (err) {
      // (a read of the old file as it was being replaced can fail as if it were damaged: it is not)
      const replaced = err instanceof DatabaseReplaced || (db !== null && fileReplaced(db));
      if (!replaced || run === REPLACED_RUNS) throw err;
      log.info(`${path} was replaced by 'sluice vacuum --full' meanwhile; ${again}`);
    } finally {
      db?.close();
    }
  }
}

function openOnce(path: string, opts: OpenOptions, fresh: boolean, file: string | null): Database {
  let db: Database;
  try {
    db = connect(path, opts);
  } catch (err) {
    throw cannotOpen(path, err);
  }
  rememberFile(db, path, file);
  try {
    // First: the ownership check's read may have to wait, e.g. while a reader recovers the WAL
    // that a killed writer left behind.
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Each read and write of the open waits for its lock through whenUnlocked: never on a file
    // that `vacuum --full` renamed another over while this open waited.
    const header = whenUnlocked(db, path, () => readHeader(db));
    checkOwnership(header, path, fresh);
    if (!opts.readonly) migrate(db, path, fresh, opts.pageSize);
    else if (opts.currentSchema) requireCurrentSchema(header.version, path);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof SluiceError) throw err;
    throw cannotOpen(path, err);
  }
}

/**
 * A connection. A reader whose user cannot write the database's directory cannot make the shared
 * memory file a WAL database needs: it reads the file as immutable (no locks, no -shm), which
 * is what a file nobody here can write is. A WAL with content beside it would then be skipped, so
 * that case is refused instead.
 */
function connect(path: string, opts: OpenOptions): Database {
  if (!opts.readonly) return new Database(path, { readwrite: true, create: false });
  if (writable(dirname(path)) || existsSync(`${path}-shm`)) return new Database(path, { readonly: true });
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) {
    throw new SluiceError(
      `cannot read database ${path}: its write-ahead log (${path}-wal) holds recent writes, and this user cannot write its directory to read them; make the directory writable, or have its owner run 'sluice check' once`,
      EXIT_FAILURE,
    );
  }
  return new Database(`file:${encodeURI(path)}?immutable=1`, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
}

/** What keeps this user from writing the database: the file system, the file, or its directory. */
function accessProblem(path: string): string | null {
  for (const [target, what] of [[path, "the file"], [dirname(path), "its directory (SQLite keeps its journal and WAL there)"]] as const) {
    try {
      accessSync(target, fsConstants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EROFS") return "the file system it is on is mounted read-only";
      if (code === "EACCES" || code === "EPERM") return `permission denied: this user cannot write ${what}`;
    }
  }
  return null;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why an open failed, truly: a lock, a permission, a full disk or an I/O error is said as such;
 * only SQLite's own verdict of corruption calls the file damaged.
 */
function cannotOpen(path: string, err: unknown): SluiceError {
  const code = String((err as { code?: unknown })?.code ?? "");
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return damaged(path, err);
  if (code === "SQLITE_READONLY_ROLLBACK") return hotJournal(`database ${path}`, `'sluice vacuum --db ${path}'`);
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code === "SQLITE_PERM") {
    const why = accessProblem(path);
    if (why) return new SluiceError(`cannot write database ${path}: ${why}; this command writes to it (a reader such as 'sluice report' does not need to)`, EXIT_FAILURE);
  }
  const known = describeSqliteError(err);
  if (known) return new SluiceError(`database ${path}: ${known.message}`, known.exitCode);
  return new SluiceError(`cannot open database ${path}: ${(err as Error)?.message ?? String(err)}; check the path and its permissions`, EXIT_FAILURE);
}

function damaged(path: string, err: unknown): SluiceError {
  return new SluiceError(
    `database ${path} is damaged or unreadable (${(err as Error).message}); restore it from a backup, or move it aside to start a new one`,
    EXIT_USAGE,
  );
}

/** Returns true when the database file is new (absent or empty). Never writes to an existing file. */
function prepareFile(path: string, opts: OpenOptions): boolean {
  if (!existsSync(path)) {
    if (!opts.create) throw new SluiceError(`no database at ${path}; run 'sluice ingest' or 'sluice index' first, or pass --db`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      // SQLite gives its journal and WAL files the mode of the database file, so 0600 covers all.
      closeSync(openSync(path, "wx", 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new SluiceError(`cannot create database ${path}: ${(err as Error).message}; check that its directory is writable`);
    }
    return true;
  }
  const st = statSync(path);
  if (!st.isFile()) throw new SluiceError(`${path} is not a regular file; pass --db with a database file path`);
  if (st.size === 0) {
    // an empty file is a new database only to a command that makes one (ingest, index)
    if (!opts.create) throw new SluiceError(`database ${path} is an empty file: nothing was ingested or indexed into it; run 'sluice ingest FILE --db ${path}' or 'sluice index --db ${path}' first`, EXIT_FAILURE);
    chmodSync(path, 0o600);
    return true;
  }
  const head = Buffer.alloc(100);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new SluiceError(`cannot read database ${path}: ${(err as Error).message}; check its permissions`);
  }
  try {
    readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString("latin1", 0, 16) !== SQLITE_HEADER) {
    throw new SluiceError(`${path} is not a SQLite database; pass --db with another path (sluice will not overwrite it)`);
  }
  // Refused from the header alone, before SQLite opens the file and makes its -wal and -shm beside it.
  const version = head.readUInt32BE(60), appId = head.readUInt32BE(68);
  if (appId === APPLICATION_ID && version > SCHEMA_VERSION) throw newerSchema(path, version);
  if (appId !== APPLICATION_ID && appId !== 0) throw notOurs(path, appId);
  return false;
}

interface Header {
  appId: number;
  version: number;
  /** How many tables, indexes and triggers the schema holds. */
  objects: number;
}

/**
 * The database's application_id, schema version and size, in one statement: one read transaction,
 * so another process creating the database meanwhile is seen before or after its first migration,
 * never halfway (its tables without its application_id). (One statement, not a transaction of
 * three: the reports open the database on every run, and this is 2 ms less of each.)
 */
function readHeader(db: Database): Header {
  return db.query("SELECT a.application_id AS appId, v.user_version AS version, (SELECT count(*) FROM sqlite_schema) AS objects FROM pragma_application_id a, pragma_user_version v").get() as Header;
}

function checkOwnership({ appId, version, objects }: Header, path: string, fresh: boolean) {
  if (appId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION) throw newerSchema(path, version);
    return;
  }
  if (fresh || (appId === 0 && version === 0 && objects === 0)) return;
  throw notOurs(path, appId, objects);
}

function newerSchema(path: string, version: number): SluiceError {
  return new SluiceError(`database ${path} has schema version ${version}, made by a newer sluice (this one knows up to ${SCHEMA_VERSION}); upgrade sluice`);
}

function notOurs(path: string, appId: number, objects?: number): SluiceError {
  const what = objects === undefined ? `application_id ${appId}` : `application_id ${appId}, ${objects} schema objects`;
  return new SluiceError(`database ${path} is not a sluice database (${what}); pass --db with another path (sluice will not modify it)`);
}

function requireCurrentSchema(version: number, path: string) {
  if (version === 0) throw new SluiceError(`database ${path} holds nothing yet; run 'sluice index' first`, EXIT_FAILURE);
  if (version < SCHEMA_VERSION) {
    throw new SluiceError(
      `database ${path} is at schema version ${version} and this sluice reads version ${SCHEMA_VERSION}; run 'sluice index --db ${path}' once to upgrade it (a copy of the old file is kept beside it)`,
      EXIT_FAILURE,
    );
  }
}

const userVersion = (db: Database) => (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;

function migrate(db: Database, path: string, fresh: boolean, pageSize?: number) {
  let version = whenUnlocked(db, path, () => userVersion(db));
  if (version === SCHEMA_VERSION) return;
  if (version === 0) {
    // Settings that only take effect before the first table exists.
    if (pageSize) db.run(`PRAGMA page_size = ${pageSize | 0}`);
    db.run("PRAGMA auto_vacuum = INCREMENTAL");
  }
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    if (m.rewritesData && !fresh) whenUnlocked(db, path, () => backupBeforeMigration(db, path, version));
    whenUnlocked(db, path, () => db.transaction(() => {
      // Not into a file that `vacuum --full` replaced meanwhile (its rename would make this write
      // land in the old file, or in the new file's WAL): the caller opens the path again.
      if (fileReplaced(db)) throw new DatabaseReplaced(path);
      // Another process may have migrated meanwhile (two commands started together on a new
      // database): the version is read again under the write lock, and a step already taken is skipped.
      if (userVersion(db) >= m.version) return;
      m.up(db);
      db.run(`PRAGMA user_version = ${m.version}`);
      if (m.version === 1) db.run(`PRAGMA application_id = ${APPLICATION_ID}`);
    }).immediate());
    version = m.version;
  }
}

/** A consistent copy of the database before a migration that rewrites rows: path.v<N>.bak. */
function backupBeforeMigration(db: Database, path: string, fromVersion: number) {
  const target = `${path}.v${fromVersion}.bak`;
  const tmp = `${target}.tmp-${process.pid}`;
  // VACUUM INTO accepts an empty file, so the copy never exists with a laxer mode than 0600.
  closeSync(openSync(tmp, "w", 0o600));
  db.run("VACUUM INTO ?", [tmp]);
  renameSync(tmp, target);
}
