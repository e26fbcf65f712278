// Replaces this process with a fresh copy of itself (same PID, so launchd and systemd see one
// service): after a backfill, so the live tail starts without the backfill's heap; and when the
// live tail outgrows its memory budget.

import { drainStdout } from "./stdio";
import { closeSync, fstatSync, openSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import { SluiceError, EXIT_FAILURE } from "./errors";

/** True inside a `bun build --compile` executable, whose modules live under /$bunfs/. */
function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/.test(Bun.main);
}

function selfExecutable(): string {
  if (process.platform === "linux") {
    try {
      return readlinkSync("/proc/self/exe");
    } catch {}
  }
  return process.execPath;
}

/**
 * The words that start this program again: the executable itself when compiled, else the runtime
 * and the script. Also what a service unit runs.
 */
export function selfCommand(): string[] {
  return isCompiled() ? [process.execPath] : [process.execPath, resolve(process.argv[1]!)];
}


/**
 * The environment of a live image: the caller's, without the JIT unless the environment says
 * otherwise (about 9 MB less RSS at live rates, for no more CPU). `BUN_OPTIONS=--smol` in the
 * environment passes on too: it trims a few MB more but cost the stress test its latency (docs/design.md,
 * "Memory"), so it is the user's choice, not the default.
 */
export function liveEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return { ...env, BUN_JSC_useJIT: env.BUN_JSC_useJIT ?? "0" };
}

/**
 * Lets the live image inherit the open file `fd`, so that a file deleted or rotated away during the
 * exec is still read to its end. Bun's execve marks every descriptor from 3 up close-on-exec, so
 * the file takes the place of stdin (unused when the input is a file) through libc's dup2. Linux
 * only; elsewhere, or if that fails, it returns null and the live image opens the path.
 */
export async function keepAcrossExec(fd: number): Promise<number | null> {
  if (process.platform !== "linux") return null;
  try {
    const { dlopen } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", { dup2: { args: ["i32", "i32"], returns: "i32" } });
    const ok = libc.symbols.dup2(fd, 0) === 0;
    libc.close();
    return ok ? 0 : null;
  } catch {
    return null;
  }
}

/**
 * Takes over the file inherited across the exec: reopened through /proc/self/fd (the same file,
 * even if deleted, now close-on-exec), and its slot given back to /dev/null so that the old file's
 * space is not held for the life of the process. Null when it is not an open regular file.
 */
export function adoptInheritedFd(fd: number): number | null {
  let own: number;
  try {
    own = openSync(`/proc/self/fd/${fd}`, "r");
  } catch {
    return null;
  }
  if (!fstatSync(own).isFile()) {
    closeSync(own);
    return null;
  }
  try {
    closeSync(fd);
    openSync("/dev/null", "r"); // takes the lowest free slot: the one just closed
  } catch {}
  return own;
}

/**
 * Execs this program again with `args` (the words after the program name) and an explicit
 * environment. Returns only by throwing, when the exec itself failed.
 */
export async function execSelf(args: string[], env: Record<string, string | undefined>): Promise<never> {
  await drainStdout();
  const exe = selfExecutable();
  const argv = [...selfCommand(), ...args];
  const cleanEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
  try {
    if (typeof process.execve !== "function") throw new Error("process.execve is not available in this runtime");
    process.execve(exe, argv, cleanEnv);
  } catch (err) {
    throw new SluiceError(
      `could not replace the process with the live tail (execve ${exe}: ${(err as Error).message}); everything read is committed, so restart sluice and it resumes from the committed offset`,
      EXIT_FAILURE,
    );
  }
  throw new SluiceError("execve returned without replacing the process; restart sluice to resume", EXIT_FAILURE);
}
