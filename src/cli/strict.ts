// Strict reading of a command line, before citty parses it: citty defines the flags and renders
// --help, but it takes an unknown flag, a string flag without its value or an extra argument
// without a word, and a typo then gives wrong numbers with exit 0. Every such mistake is one line
// here, naming the word, with a "did you mean" when a known name is close.

import type { ArgDef, ArgsDef } from "citty";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";

/** Checks the words after the command's name against its flag definitions. */
export function checkWords(command: string, args: ArgsDef, words: string[]) {
  const flags = new Map<string, ArgDef>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    flags.set(name, def);
    for (const alias of [(def as { alias?: string | string[] }).alias ?? []].flat()) flags.set(alias, def);
  }
  const positionals = Object.values(args).filter((d) => d.type === "positional").length;
  let seen = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      seen += words.length - i - 1;
      break;
    }
    if (!w.startsWith("-") || w === "-" || /^-\d/.test(w)) {
      if (++seen > positionals) throw usage(`'sluice ${command}' takes ${positionals === 0 ? "no arguments" : `${positionals} argument${positionals === 1 ? "" : "s"}`}; '${w}' is one too many`);
      continue;
    }
    const [raw, inline] = splitFlag(w);
    const def = flags.get(raw) ?? (raw.startsWith("no-") && flags.get(raw.slice(3))?.type === "boolean" ? flags.get(raw.slice(3)) : undefined);
    if (!def) throw usage(`unknown flag '${w}' for 'sluice ${command}'${didYouMean(raw, [...flags.keys()].filter((k) => k.length > 1), "--")}`);
    if (def.type === "boolean") {
      if (inline !== undefined && inline !== "true" && inline !== "false") throw usage(`--${raw} is on or off and takes no value ('${w}')`);
      continue;
    }
    if (inline !== undefined) {
      if (inline === "") throw usage(`--${raw} needs a value`);
      continue;
    }
    const value = words[i + 1];
    if (value === undefined || (value.startsWith("--") && value.length > 2)) throw usage(`--${raw} needs a value`);
    i++;
  }
}

/** `--name=value` as [name, value]; `--name` as [name, undefined]; `-x` as [x, undefined]. */
function splitFlag(w: string): [string, string | undefined] {
  const body = w.replace(/^--?/, "");
  const eq = body.indexOf("=");
  return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
}

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

function usage(message: string): SluiceError {
  return new SluiceError(message, EXIT_USAGE);
}
