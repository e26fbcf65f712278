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
  if (code === "SQLITE_FULL") return new SluiceError(`the disk holding the database is full (${detail}); free some space ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_READONLY")) return new SluiceError(`the database or its directory is read-only (${detail}); make both writable ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_CANTOPEN")) return new SluiceError(`cannot open the database or its journal (${detail}); check that the directory exists and is writable ${resume}`, EXIT_FAILURE);
  if (code.startsWith("SQLITE_IOERR")) return new SluiceError(`the disk reported an I/O error (${detail}); check the disk ${resume}`, EXIT_FAILURE);
  if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_")) return new SluiceError(`the database stayed locked by another connection for 5 s (${detail}); close long transactions ${resume}`, EXIT_FAILURE);
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return new SluiceError(`the database is damaged (${detail}); restore it from a backup ('sluice backup'), or move it aside to start a new one`, EXIT_USAGE);
  return null;
}
