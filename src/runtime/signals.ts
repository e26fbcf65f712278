// The stop signals: SIGTERM (a service manager, kill) and SIGINT (Ctrl-C) both ask for a clean stop.
//
// The long-running followers (the live tail, the index follower) stop and exit 0 (onStopSignals).
// A command that runs to an end (a backfill, a backup, a rebuild) is interrupted instead
// (StopRequest): it stops at its next safe point, leaves the database as every other command reads
// it, says in one line where it stopped, and ends by the signal itself (exitBySignal), so a shell
// sees 130 or 143 and a service manager sees a process stopped by its own signal.

import { log } from "./log";

export type StopSignal = "SIGINT" | "SIGTERM";

/** The exit status a shell reports for a process ended by the signal: 128 + its number. */
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** SIGTERM and SIGINT call `stop`; returns the function that removes the handlers again. */
export function onStopSignals(stop: () => void): () => void {
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return () => {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
  };
}

/**
 * A stop request for a command that runs to an end. The handlers run only when the event loop
 * gets control, so the work yields at its safe points (between read chunks, merges, index builds)
 * and looks at `signal` there. A second signal while it cleans up runs `lastResort` (synchronous,
 * leaving the database consistent, e.g. rolling back an open transaction) and ends the process at
 * once.
 */
export class StopRequest {
  signal: StopSignal | null = null;
  /** What a second signal still does, synchronously, before it ends the process. */
  lastResort: () => void = () => {};
  private resolveStopped!: () => void;
  private readonly stoppedPromise = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  private readonly onInt = () => this.receive("SIGINT");
  private readonly onTerm = () => this.receive("SIGTERM");

  constructor() {
    process.on("SIGINT", this.onInt);
    process.on("SIGTERM", this.onTerm);
  }

  get stopped(): boolean {
    return this.signal !== null;
  }

  /** Resolves at the first signal (or at dispose): for racing a wait. One promise, however often asked. */
  whenStopped(): Promise<void> {
    return this.stoppedPromise;
  }

  /**
   * Runs `exec` (a replacement of the process by a new image, which would lose a signal its
   * handlers had taken in) with the signals' default action: a signal from here on ends the
   * process, or, pending across the exec, the new image before it installs its own handlers. A
   * signal that came before is let through to the handlers first; then `exec` does not run and
   * this returns false. The handlers are back when it returns (the exec failed, or did not run).
   */
  async beforeExec(exec: () => Promise<void>): Promise<boolean> {
    await settleSignals();
    if (this.stopped) return false;
    process.off("SIGINT", this.onInt);
    process.off("SIGTERM", this.onTerm);
    try {
      await exec();
    } finally {
      process.on("SIGINT", this.onInt);
      process.on("SIGTERM", this.onTerm);
    }
    return true;
  }

  /** Removes the handlers: the default action (the end of the process) applies again. */
  dispose() {
    process.off("SIGINT", this.onInt);
    process.off("SIGTERM", this.onTerm);
    this.resolveStopped();
  }

  private receive(signal: StopSignal) {
    if (this.signal === null) {
      this.signal = signal;
      this.resolveStopped();
      return;
    }
    try {
      this.lastResort();
    } finally {
      exitBySignal(this.signal, "interrupted again while cleaning up: stopped at once; what was committed is intact, run the same command to resume");
    }
  }
}

/** Yields to the event loop, so that a pending signal's handler runs. */
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets a signal that arrived during the last synchronous stretch reach its handler: it is read in
 * the loop's next poll, after this turn's immediates, hence two turns. Call it before removing the
 * handlers (StopRequest.dispose) when the process goes on afterwards: removed first, they would
 * drop that signal, and a follower about to hand over would follow on, asked to stop (seen).
 */
export async function settleSignals(): Promise<void> {
  await yieldToSignals();
  await yieldToSignals();
}

/**
 * Prints `line` (one line on stderr) and ends the process by `signal` with the default action, as
 * if it had never been caught: the parent sees "killed by SIGINT" (a shell: 130) or SIGTERM (143),
 * and a shell script stops as it would on Ctrl-C. Exits 128 + signal if the signal does not end it.
 */
export function exitBySignal(signal: StopSignal, line: string): never {
  log.warn(line);
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Delivery to another thread of this process may take a moment.
  Bun.sleepSync(200);
  process.exit(SIGNAL_EXIT[signal]);
}
