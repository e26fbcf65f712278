// What a command prints on stdout: one JSON object with --json, else text lines. Logs go to stderr
// through runtime/log.ts; numbers are formatted by runtime/format.ts.

/** Prints one JSON object and a newline. */
export function printJson(value: unknown) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

/** Prints a command's result: one JSON object with --json, else the text lines. */
export function printResult(json: boolean, value: unknown, text: () => string[]) {
  if (json) printJson(value);
  else process.stdout.write(text().join("\n") + "\n");
}

/** A plain-text table: the first column left-aligned, the others right-aligned, a rule under the head. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(head), w.map((x) => "-".repeat(x)).join("  "), ...rows.map(line)].join("\n");
}
