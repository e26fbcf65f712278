// `--help` that teaches: a command's purpose in a line, its flags in groups (input, database,
// output, live, advanced; internal flags hidden), and examples. citty keeps the definitions; this
// renders them, reading two fields citty ignores: `group` on a flag and `examples` in the meta.

import type { ArgDef, CommandDef, CommandMeta } from "citty";
import { textOutput } from "./output";
import { wrapWords } from "./table";

export type FlagGroup = "input" | "database" | "output" | "live" | "team" | "advanced" | "internal";

const GROUP_TITLES: Record<Exclude<FlagGroup, "internal">, string> = {
  input: "Input", database: "Database", output: "Output", live: "Live (with --follow)", team: "Team store (PostgreSQL)", advanced: "Advanced",
};

/** A command's meta with the examples its help shows. */
export function helpMeta(m: CommandMeta & { examples?: string[] }): CommandMeta {
  return m;
}

type Described = ArgDef & { group?: FlagGroup; valueHint?: string; description?: string };

/** The help of `sluice <names>`: usage, arguments, flags by group, subcommands and examples. */
export async function renderHelp(cmd: CommandDef<any>, names: string[]): Promise<string> {
  const meta = ((await cmd.meta) ?? {}) as CommandMeta & { examples?: string[] };
  const args = ((await cmd.args) ?? {}) as Record<string, Described>;
  const subs = ((await cmd.subCommands) ?? null) as Record<string, unknown> | null;
  const path = ["sluice", ...names].join(" ");
  const positionals = Object.entries(args).filter(([, d]) => d.type === "positional");
  const usage = [path, ...(subs ? ["<command>"] : []), ...positionals.map(([n, d]) => (d.required === false ? `[${n}]` : `<${n}>`)), ...(Object.keys(args).length > positionals.length ? ["[flags]"] : [])];
  const out = [meta.description ?? "", "", `Usage: ${usage.join(" ")}`];
  const { color } = textOutput();
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  if (subs) out.push("", bold("Commands"), ...(await subcommandLines(subs)));
  if (positionals.length) out.push("", bold("Arguments"), ...table(positionals.map(([n, d]) => [`  ${n}`, d.description ?? ""])));
  for (const [group, title] of Object.entries(GROUP_TITLES)) {
    const flags = Object.entries(args).filter(([, d]) => d.type !== "positional" && (d.group ?? "advanced") === group);
    if (flags.length) out.push("", bold(title), ...table(flags.map(([n, d]) => [`  ${flagWords(n, d)}`, d.description ?? ""])));
  }
  out.push("", bold(names.length ? "Every command" : "Flags of every command"), ...table([["  --no-color", "No colour (also NO_COLOR=1; FORCE_COLOR=1 forces it)"], ["  --debug", "Print the whole trace of an unexpected error"], ["  -h, --help", "This help"], ...(names.length ? [] : [["  -v, --version", "The version"]])]));
  if (meta.examples?.length) out.push("", bold("Examples"), ...meta.examples.map((e) => `  ${e}`));
  return out.join("\n") + "\n";
}

async function subcommandLines(subs: Record<string, unknown>): Promise<string[]> {
  const rows: string[][] = [];
  for (const [name, sub] of Object.entries(subs)) {
    const def = (typeof sub === "function" ? await (sub as () => Promise<CommandDef<any>>)() : sub) as CommandDef<any>;
    const meta = ((await def.meta) ?? {}) as CommandMeta & { hidden?: boolean };
    if (!meta.hidden) rows.push([`  ${name}`, meta.description ?? ""]);
  }
  return table(rows);
}

function flagWords(name: string, d: Described): string {
  if (d.type === "boolean") return `--${name}`;
  return `--${name} <${d.valueHint ?? "value"}>`;
}

/** Two columns: the words, and their description wrapped to the terminal. */
function table(rows: string[][]): string[] {
  const left = Math.min(34, Math.max(...rows.map((r) => r[0]!.length)) + 2);
  const width = Math.min(textOutput().width, 120);
  const room = Math.max(30, width - left);
  const out: string[] = [];
  for (const [words, text] of rows) {
    const lines = wrapWords(text!, room);
    out.push(words!.length + 2 > left ? words! : words!.padEnd(left) + (lines.shift() ?? ""));
    for (const l of lines) out.push(" ".repeat(left) + l);
  }
  return out;
}
