// Logs go to stderr through consola; stdout carries data and --json output only. The basic
// reporter prints one plain line per message, so an error is exactly one line on stderr.
import { createConsola } from "consola/basic";

export const log = createConsola({
  stdout: process.stderr,
  stderr: process.stderr,
  level: process.env.SLUICE_LOG_LEVEL ? Number(process.env.SLUICE_LOG_LEVEL) : 3,
  formatOptions: { date: false, compact: true },
});
