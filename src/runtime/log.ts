// Logs go to stderr through consola; stdout carries data and --json output only. The basic
// reporter prints one plain line per message, so an error is exactly one line on stderr. A
// follower's status line (runtime/status-line.ts) is cleared before each message, so a message
// never lands in the middle of it.
import { createConsola } from "consola/basic";
import { statusLine } from "./status-line";

/** stderr, clearing the status line before each write. */
const stderr = {
  write(chunk: string | Uint8Array) {
    statusLine.clear();
    return process.stderr.write(chunk);
  },
} as unknown as NodeJS.WriteStream;

export const log = createConsola({
  stdout: stderr,
  stderr,
  level: process.env.SLUICE_LOG_LEVEL ? Number(process.env.SLUICE_LOG_LEVEL) : 3,
  formatOptions: { date: false, compact: true },
});
