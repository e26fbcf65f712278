// The status line of a command that follows (`ingest --follow`, `index --follow`). On a terminal
// one line on stderr is kept current in place; a log message clears it first (runtime/log.ts), and
// the next update draws it again below. Off a terminal (a service's journal, a file) the same text
// is logged once a minute, so a journal shows that the follower is alive and what it does without
// a line a second.

import { count } from "./format";
import { isTerminal, terminalColumns, writeErr } from "./stdio";

/** How often the line is logged off a terminal; SLUICE_STATUS_INTERVAL_MS changes it (the tests). */
const LOG_EVERY_MS = Number(process.env.SLUICE_STATUS_INTERVAL_MS) || 60_000;

class StatusLine {
  private shown = false;
  private lastLogged = performance.now();
  /** Set when the terminal should get the line; off it, `log` takes it once a minute. Asked at the first update, not at start: node:tty costs a command that shows no line. */
  private ttyKnown: boolean | null = null;
  private get tty(): boolean {
    return (this.ttyKnown ??= !process.env.SLUICE_NO_STATUS_LINE && isTerminal(2));
  }

  /**
   * Shows the line now on a terminal; off one, hands it to `log` when a minute has passed. `text`
   * is called only then: a live tail off a terminal builds no string in between.
   */
  update(text: () => string, log: (line: string) => void) {
    if (this.tty) {
      const width = terminalColumns(2) ?? 80;
      const line = text();
      writeErr(`\r\x1b[K${line.length >= width ? `${line.slice(0, width - 2)}…` : line}`);
      this.shown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastLogged < LOG_EVERY_MS) return;
    this.lastLogged = now;
    log(text());
  }

  /** Clears the line, before a log message or at the end, so nothing is written after it. */
  clear() {
    if (!this.shown) return;
    writeErr("\r\x1b[K");
    this.shown = false;
  }
}

/** The process's one status line. */
export const statusLine = new StatusLine();

/** "3 s ago", "4 min ago", "never": how long since a wall-clock moment (epoch milliseconds). */
export function ago(at: number | null, now = Date.now()): string {
  if (at === null || Number.isNaN(at)) return "never";
  const s = Math.max(0, (now - at) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

/**
 * The figures every follower shows, most telling first (a narrow terminal cuts the end): its rate,
 * what it has still to read, when it last committed, its RSS, and what it did since it started.
 */
export function followerFigures(f: { linesPerSecond: number; behind: string; lastCommitAt: number | null; rssBytes: number; done: string }): string {
  return `${count(Math.round(f.linesPerSecond))} lines/s · ${f.behind} behind · commit ${ago(f.lastCommitAt)} · RSS ${Math.round(f.rssBytes / (1 << 20))} MB · ${f.done}`;
}
