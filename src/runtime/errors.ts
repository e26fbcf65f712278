// Errors that reach the user. Each says what happened and what to do; the CLI prints the message
// on one line and exits with the code.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad input that stops the command: a missing or unreadable file, a database that is not sluice's. */
export const EXIT_USAGE = 2;

export class SluiceError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
    this.name = "SluiceError";
  }
}

/** Wraps a low-level error with what sluice was doing, in the manner of Go's `fmt.Errorf("...: %w")`. */
export function wrapError(what: string, err: unknown, exitCode = EXIT_FAILURE): SluiceError {
  if (err instanceof SluiceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SluiceError(`${what}: ${detail}`, exitCode);
}

/**
 * SQLite's errors from the file system, said the way a user can act on them. Everything read up
 * to the error was committed or rolled back whole, so running the same command again resumes.
 */
export function describeSqliteError(err: unknown): SluiceError | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return null;
  const detail = (err as Error).message;
  const resume = "and run the same command again: it resumes from the committed offset, and nothing committed is lost";
  // before the other READONLY codes: nothing is read-only, a reader met a killed writer's journal
  if (code === "SQLITE_READONLY_ROLLBACK") return hotJournal("the database", "'sluice vacuum'");
  if (code === "SQLITE_FULL") return new SluiceError(`the disk holding the database is full (${detail}); free some space ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_READONLY")) return new SluiceError(`the database or its directory is read-only (${detail}); make both writable ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_CANTOPEN")) return new SluiceError(`cannot open the database or its journal (${detail}); check that the directory exists and is writable ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_IOERR")) return new SluiceError(`the disk reported an I/O error (${detail}); check the disk ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_BUSY")) return new SluiceError(busy(code, detail, resume), EXIT_FAILURE);
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return new SluiceError(`the database is damaged (${detail}); restore it from a backup ('sluice backup'), or move it aside to start a new one`, EXIT_USAGE);
  return null;
}

/**
 * A lock in the way, said without a wait that may not have happened: SQLite returns SQLITE_BUSY at
 * once, without its busy handler, when waiting could not help (another program keeps the file in
 * exclusive locking mode, a read would deadlock with a writer), and after the busy timeout (5 s)
 * otherwise; the error does not say which.
 */
function busy(code: string, detail: string, resume: string): string {
  if (code === "SQLITE_BUSY_RECOVERY") return `another connection is recovering the database's write-ahead log after a crash (${detail}); wait a moment ${resume}`;
  if (code === "SQLITE_BUSY_SNAPSHOT") return `another connection wrote to the database while this one was reading it (${detail}); run the same command again: nothing committed is lost`;
  return `the database is locked by another program or connection (${detail}); let it finish or stop it ('sluice status' names sluice's own writers) ${resume}`;
}

/**
 * A hot journal: a writer in rollback-journal mode (a backfill, a bulk index, vacuum --full) was
 * killed mid-commit, and its journal holds the pages to put back. A reader opens the database
 * read-only and cannot roll it back (SQLITE_READONLY_ROLLBACK); the next connection that can write
 * does so on its first read. `db` names the database, `vacuum` the cheapest command that writes.
 */
export function hotJournal(db: string, vacuum: string): SluiceError {
  return new SluiceError(
    `${db} has a hot journal from an interrupted write (a writer was killed mid-commit); it is not damaged and nothing committed is lost: ` +
      `run any command that writes to it, e.g. ${vacuum} or the interrupted 'sluice ingest' or 'sluice index', to roll the journal back`,
    EXIT_FAILURE,
  );
}
