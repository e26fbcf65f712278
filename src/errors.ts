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
