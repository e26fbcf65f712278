// Strict reading of a command line, before citty parses it: citty defines the flags and renders
// --help, but it takes an unknown flag, a string flag without its value or an extra argument
// without a word, and a typo then gives wrong numbers with exit 0. Every such mistake is one line
// here, naming the word, with a "did you mean" when a known name is close.

import type { ArgDef, ArgsDef } from "citty";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { didYouMean } from "../runtime/words";

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

function usage(message: string): SluiceError {
  return new SluiceError(message, EXIT_USAGE);
}
