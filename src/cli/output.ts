// What a command prints on stdout: one JSON object with --json, else text lines. Logs go to stderr
// through runtime/log.ts; numbers are formatted by runtime/format.ts.

import type { styleText } from "node:util";
import { isTerminal, terminalColumns, writeOut } from "../runtime/stdio";

/** node:util's styleText, loaded when text is first coloured: a --json run never loads node:util. */
export function styled(text: string, how: Parameters<typeof styleText>[0]): string {
  return (require("node:util") as typeof import("node:util")).styleText(how, text, { validateStream: false });
}

/** Prints one JSON object and a newline. */
export function printJson(value: unknown) {
  writeOut(JSON.stringify(value) + "\n");
}

/** Prints a command's result: one JSON object with --json, else the text lines. */
export function printResult(json: boolean, value: unknown, text: () => string[]) {
  if (json) printJson(value);
  else writeOut(text().join("\n") + "\n");
}

/**
 * How text output may look: the columns it has (the terminal's, or COLUMNS; Infinity into a file
 * or a pipe) and whether it may use colour: never with --no-color or NO_COLOR, always with
 * FORCE_COLOR, else on a terminal.
 */
export function textOutput(): { width: number; color: boolean } {
  const columns = Number(process.env.COLUMNS);
  const width = columns > 0 ? columns : (terminalColumns(1) ?? Infinity);
  const env = process.env;
  const color = env.SLUICE_NO_COLOR || env.NO_COLOR ? false : env.FORCE_COLOR && env.FORCE_COLOR !== "0" ? true : isTerminal(1);
  return { width, color };
}
