// How numbers look wherever sluice shows them to a person: the CLI's text output, log lines and the
// progress line. One place, so a count or a size reads the same in every command.

/**
 * A whole count with thousands separators: 1234567 -> "1,234,567". Not toLocaleString: that
 * faults in ICU's data pages, megabytes of file-backed RSS a live tail has given back.
 */
export function count(x: number): string {
  return String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Bytes in binary megabytes, one decimal: what RSS, WAL and file sizes are shown in. */
export function mib(bytes: number, digits = 1): string {
  return `${(bytes / 1048576).toFixed(digits)} MB`;
}

/** Bytes in decimal megabytes, as throughput and input sizes are counted: 12345678 -> "12" (digits 0). */
export function megabytes(bytes: number, digits = 0): string {
  return (bytes / 1e6).toFixed(digits);
}

/** Milliseconds as seconds: 1234 -> "1.2 s". */
export function seconds(ms: number, digits = 1): string {
  return `${(ms / 1000).toFixed(digits)} s`;
}

/** A duration for a person: "42s", "3m07s", "2h05m"; "?" when unknown. */
export function duration(secs: number): string {
  if (!Number.isFinite(secs)) return "?";
  if (secs < 60) return `${secs.toFixed(0)}s`;
  const m = Math.floor(secs / 60);
  if (m < 60) return `${m}m${String(Math.round(secs % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Dollars with two decimals and separators: "$1,234.56"; a cost above zero but under a cent is "<$0.01". */
export function usd(x: number): string {
  if (x > 0 && x < 0.005) return "<$0.01";
  // by hand, as count() is: toLocaleString would load ICU (about 18 ms of a status line's start)
  const [whole, cents] = Math.abs(x).toFixed(2).split(".");
  return `$${x < 0 ? "-" : ""}${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents}`;
}

/** "1 file", "2 files": a count with its noun, singular or plural. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : nouns}`;
}

/** A size for a person, in the unit that reads best: "0 B", "812 B", "4.2 KB", "17.0 MB", "1.3 GB". */
export function size(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}
