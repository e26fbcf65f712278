// Logs go to stderr through consola; stdout carries data and --json output only. Each message is
// one plain line, "[type] message", as consola's basic reporter writes it, so an error is exactly
// one line on stderr. A follower's status line (runtime/status-line.ts) is cleared before each
// message, so a message never lands in the middle of it.
//
// consola/core rather than consola/basic: the basic entry builds a default instance on
// process.stdout and process.stderr as it loads, and those streams cost every command about
// 20 ms at start (runtime/stdio.ts). The reporter here writes to descriptor 2 instead.
import { createConsola, type ConsolaReporter, type LogObject } from "consola/core";
import { statusLine } from "./status-line";
import { writeErr } from "./stdio";

/** A message's words: strings as they are, anything else as util.format shows it. */
function words(args: unknown[]): string {
  if (args.every((a) => typeof a === "string")) return args.join(" ");
  const { formatWithOptions } = require("node:util") as typeof import("node:util");
  return formatWithOptions({ colors: false }, ...args.map((a) => (a instanceof Error ? a.message : a)));
}

/** One line per message on stderr: "[type] [tag] message". */
const lineReporter: ConsolaReporter = {
  log(logObj: LogObject) {
    statusLine.clear();
    const parts = [logObj.type ? `[${logObj.type}]` : "", logObj.tag ? `[${logObj.tag}]` : "", words(logObj.args)];
    writeErr(parts.filter(Boolean).join(" ") + "\n");
  },
};

export const log = createConsola({
  reporters: [lineReporter],
  level: process.env.SLUICE_LOG_LEVEL ? Number(process.env.SLUICE_LOG_LEVEL) : 3,
});
