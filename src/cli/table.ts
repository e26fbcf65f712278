// Tables a person reads: text left-aligned and numbers right-aligned, a cell of several lines (one
// model per line), widths measured as the terminal shows them (Bun.stringWidth: wide and combining
// characters, colour codes), and a layout that fits the terminal: optional columns are left out
// below its width, with a note that says how to see them, and the widest text column is cut last.

import { styled } from "./output";

export interface Column {
  head: string;
  align: "left" | "right";
  /** Left out, last first, when the table does not fit the width. */
  optional?: boolean;
}

export interface TableOptions {
  /** Columns the output may use; Infinity when it goes to a file or a pipe. */
  width: number;
  color: boolean;
  /** How many rows at the end are totals (drawn bold, under a rule). */
  footerRows?: number;
}

const GAP = "  ";
const width = (s: string) => Bun.stringWidth(s);

export function renderTable(columns: Column[], rows: string[][], o: TableOptions): string {
  const cells = rows.map((r) => r.map((c) => c.split("\n")));
  const natural = columns.map((c, i) => Math.max(width(c.head), ...cells.map((r) => Math.max(...r[i]!.map(width)))));
  const shown = fitColumns(columns, natural, o.width);
  const widths = natural.slice();
  shrinkText(columns, shown, widths, o.width);
  const style = (s: string, how: Parameters<typeof styled>[1]) => (o.color ? styled(s, how) : s);
  const pad = (text: string, i: number) => {
    const cut = cutTo(text, widths[i]!);
    const space = " ".repeat(Math.max(0, widths[i]! - width(cut)));
    return columns[i]!.align === "left" ? cut + space : space + cut;
  };
  const lineOf = (parts: string[]) => shown.map((i) => pad(parts[i] ?? "", i)).join(GAP).trimEnd();
  const rule = shown.map((i) => "─".repeat(widths[i]!)).join(GAP);
  const out = [style(lineOf(columns.map((c) => c.head)), ["bold"]), style(rule, ["dim"])];
  const footFrom = cells.length - (o.footerRows ?? 0);
  cells.forEach((r, n) => {
    if (n === footFrom && n > 0) out.push(style(rule, ["dim"]));
    const height = Math.max(...shown.map((i) => r[i]!.length));
    for (let k = 0; k < height; k++) {
      const text = lineOf(r.map((lines) => lines[k] ?? ""));
      out.push(n >= footFrom ? style(text, ["bold"]) : text);
    }
  });
  const hidden = columns.filter((_, i) => !shown.includes(i)).map((c) => c.head.toLowerCase());
  if (hidden.length) {
    const note = `(${hidden.join(", ")} left out to fit ${o.width} columns; widen the terminal, or use --json)`;
    for (const line of wrapWords(note, o.width)) out.push(style(line, ["dim"]));
  }
  return out.join("\n");
}

/** The columns that fit: optional ones are dropped, the last first, until the table fits. */
function fitColumns(columns: Column[], natural: number[], limit: number): number[] {
  const shown = columns.map((_, i) => i);
  const total = () => shown.reduce((s, i) => s + natural[i]!, 0) + GAP.length * (shown.length - 1);
  for (let i = columns.length - 1; i >= 0 && total() > limit; i--) {
    if (columns[i]!.optional) shown.splice(shown.indexOf(i), 1);
  }
  return shown;
}

/** Still too wide: the left-aligned (text) columns give up width, the widest first; numbers never do. */
function shrinkText(columns: Column[], shown: number[], widths: number[], limit: number) {
  const text = shown.filter((i) => columns[i]!.align === "left");
  const least = (i: number) => Math.max(width(columns[i]!.head), 8);
  let over = shown.reduce((s, i) => s + widths[i]!, 0) + GAP.length * (shown.length - 1) - limit;
  while (over > 0) {
    const widest = text.filter((i) => widths[i]! > least(i)).sort((a, b) => widths[b]! - widths[a]!)[0];
    if (widest === undefined) return; // as narrow as it can be: the terminal wraps it
    widths[widest]!--;
    over--;
  }
}

/** Words in lines of at most `w` columns. */
export function wrapWords(text: string, w: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && width(line) + 1 + width(word) > w) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The text cut to `w` columns, with an ellipsis when cut. */
function cutTo(text: string, w: number): string {
  if (width(text) <= w) return text;
  let out = "";
  for (const ch of text) {
    if (width(out + ch) > w - 1) break;
    out += ch;
  }
  return out + "…";
}
