// "Did you mean": the known name nearest a mistyped one, for commands, flags and config keys.

/** "; did you mean '--since'?" when a known name is within two edits (or one for short names). */
export function didYouMean(word: string, known: string[], prefix = ""): string {
  let best: string | null = null, bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  const limit = word.length <= 4 ? 1 : 2;
  return best !== null && bestDistance <= limit ? `; did you mean '${prefix}${best}'?` : "";
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Code-unit order, as ISO times, ids and model names sort: localeCompare would load ICU's collator (18 ms of a command's start) for nothing. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
