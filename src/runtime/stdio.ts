// Standard output and error, written with write(2) on descriptors 1 and 2 rather than through
// Node's process.stdout and process.stderr. Bun builds those stream objects on first touch (and a
// property such as isTTY touches them), which cost every command about 20 ms of CPU and 10 MB of
// RSS at start, more than the report it then prints (docs/benchmarks.md, "Start-up"). The streams
// are still used where only a terminal needs them (its width), which is when nobody counts a few
// milliseconds.

import { fstatSync, writeSync } from "node:fs";

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd`, in order with every other write of this process. A descriptor a
 * parent left non-blocking is waited on (EAGAIN), never dropped; a reader that went away (EPIPE,
 * as `| head` does) ends the writing quietly.
 */
function writeAll(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE") return;
      if (code !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

/** Writes to stdout: data and --json only. */
export const writeOut = (text: string | Uint8Array) => writeAll(1, text);

/** Writes to stderr: logs, status and progress lines. */
export const writeErr = (text: string | Uint8Array) => writeAll(2, text);

const terminals = new Map<number, boolean>();

/**
 * Whether descriptor 0, 1 or 2 is a terminal. Only a character device can be one: a pipe or a file
 * (the status line's stdin, a report's redirected stdout) is told by one fstat, and node:tty, whose
 * load costs 3 ms of a 50 ms command, is asked only about a character device.
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  let tty = terminals.get(fd);
  if (tty === undefined) {
    let device: boolean;
    try {
      device = fstatSync(fd).isCharacterDevice();
    } catch {
      device = false; // closed: no terminal
    }
    tty = device && (require("node:tty") as typeof import("node:tty")).isatty(fd);
    terminals.set(fd, tty);
  }
  return tty;
}

let stdoutStreamMade = false;

/** Node's stdout stream, for what needs one (the MCP SDK's transport, a terminal's width). */
export function stdoutStream(): NodeJS.WriteStream {
  stdoutStreamMade = true;
  return process.stdout;
}

/** The width of the terminal on stdout (1) or stderr (2); undefined when it is no terminal. */
export function terminalColumns(fd: 1 | 2): number | undefined {
  if (!isTerminal(fd)) return undefined;
  return (fd === 1 ? stdoutStream() : process.stderr).columns || 80;
}

/**
 * Waits until the stdout stream, if one was made, has written everything it was given: an exit
 * or an exec would drop a buffered write. (An empty write's callback is not a safe signal: with
 * nothing buffered it may never come, and a process whose event loop is empty then simply exits.)
 * writeOut's writes are done when it returns.
 */
export async function drainStdout(): Promise<void> {
  if (!stdoutStreamMade) return;
  const out = process.stdout;
  if (!out.writableLength) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
    out.once("drain", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
