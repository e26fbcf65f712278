// Replaces this process with a fresh copy of itself (same PID, so launchd and systemd see one
// service): after a backfill, so the live tail starts without the backfill's heap; when the live
// tail outgrows its memory budget; and before a first index's bulk load, for its allocator setting.

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
  const own = withoutBulkSettings(env);
  return { ...own, BUN_JSC_useJIT: own.BUN_JSC_useJIT ?? "0" };
}

/** Set in the environment of a bulk image (bulkEnv): its allocator setting is sluice's, not the user's. */
const BULK_IMAGE = "SLUICE_BULK_IMAGE";

/**
 * The environment of a bulk image (a first index): the caller's, with the allocator's purging of
 * freed memory off (MIMALLOC_PURGE_DELAY=-1). Bun's allocator hands pages back to the kernel
 * 10 ms after they are freed; a first index frees and allocates hundreds of megabytes of buffers a
 * second across its threads, so each page came back through a page fault and a zeroing: on the
 * 1.1 GB corpus 16.5 s with 9 s of system time, against 10.7 s with 3 s, for 85 MB more peak RSS
 * (docs/benchmarks.md, "The allocator in a first index"). mimalloc reads the setting once, as
 * the process starts: so a new image, not a setting made now.
 */
export function bulkEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return { ...env, MIMALLOC_PURGE_DELAY: "-1", [BULK_IMAGE]: "1" };
}

/** The caller's environment again: what bulkEnv added taken out (for the live image that follows). */
function withoutBulkSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!env[BULK_IMAGE]) return env;
  const { [BULK_IMAGE]: _mark, MIMALLOC_PURGE_DELAY: _purge, ...own } = env;
  return own;
}

/**
 * Replaces the process with a bulk image of itself (same PID, same words, bulkEnv); returns only
 * when the exec failed, and then the caller's `what` runs in this process.
 */
export async function execBulkImage(what: string, log: { debug(message: string): void }): Promise<void> {
  log.debug(`${what}: it starts in a new image of this process, with the allocator's purging off (MIMALLOC_PURGE_DELAY=-1)`);
  try {
    await execSelf(process.argv.slice(2), bulkEnv());
  } catch (err) {
    log.debug(`${(err as Error).message}; ${what} runs in this process`);
  }
}

/**
 * Whether a bulk load should run in a bulk image: not in one already, not where the user set the
 * allocator's purging themselves, and only where this process can replace itself.
 */
export function bulkImageWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env[BULK_IMAGE] && env.MIMALLOC_PURGE_DELAY === undefined && process.platform !== "win32" && typeof process.execve === "function";
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
