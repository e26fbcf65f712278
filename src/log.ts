// Logs go to stderr through consola; stdout carries data and --json output only.
import { createConsola } from "consola";

export const log = createConsola({
  stdout: process.stderr,
  stderr: process.stderr,
  level: process.env.SLUICE_LOG_LEVEL ? Number(process.env.SLUICE_LOG_LEVEL) : 3,
  // One line per message, no padding, so that an error is exactly one line on stderr.
  fancy: false,
  formatOptions: { date: false, compact: true },
});
