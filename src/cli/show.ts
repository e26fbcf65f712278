import { defineCommand } from "citty";
import { resolveSession } from "../archive/sessions";
import { openDatabase } from "../db/open";
import { loadPrices } from "../report/prices";
import { showSession, type ShownMessage, type ShownSession } from "../report/show";
import { count } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { writeOut } from "../runtime/stdio";

export default defineCommand({
  meta: helpMeta({
    name: "show",
    description: "Read an archived session: its project, models, tokens and cost, then the conversation in order (tool calls one line each)",
    examples: ["sluice show 0d3a8e6f                # by the session id, or a prefix of it", "sluice show 0d3a8e6f --tools        # tool calls and their output in full", "sluice show 0d3a8e6f --json | jq '.messages[] | select(.role == \"user\")'"],
  }),
  args: {
    session: { type: "positional", description: "The session: the agent's session id, a prefix of it, or its key", required: true, valueHint: "session" },
    tools: { type: "boolean", description: "Unfold tool calls and show their output", default: false },
    prices: { type: "string", description: "A JSON price table laid over the built-in one (as for 'sluice report')", valueHint: "file", group: "advanced" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      const shown = showSession(db, resolveSession(db, args.session), loadPrices(args.prices));
      if (args.json) printJson(shown);
      else writeOut(render(shown, args.tools));
    } finally {
      db.close();
    }
  },
});

const time = (at: string | null) => (at ? at.slice(0, 16).replace("T", " ") : "undated");

function render(s: ShownSession, tools: boolean): string {
  const { color, width } = textOutput();
  const bold = (x: string) => (color ? `\x1b[1m${x}\x1b[22m` : x);
  const dim = (x: string) => (color ? `\x1b[2m${x}\x1b[22m` : x);
  const t = s.totals;
  const out = [
    bold(s.session),
    `project   ${s.project ?? "unknown"}${s.gitBranch ? ` (${s.gitBranch})` : ""}`,
    `time      ${time(s.firstAt)} to ${time(s.lastAt)} UTC`,
    `models    ${s.models.map((m) => `${m.model} (${count(m.calls)} calls)`).join(", ") || "none"}`,
    `tokens    ${count(t.inputTokens)} in, ${count(t.outputTokens)} out, ${count(t.cacheCreationTokens)} cache write, ${count(t.cacheReadTokens)} cache read; ` +
      `$${t.totalCost.toFixed(2)}${s.unpricedModels.length ? ` (no price for ${s.unpricedModels.join(", ")})` : ""}`,
    ...(s.subagents.length ? [`subagents ${s.subagents.map((a) => `${a.session}${a.agentType ? ` (${a.agentType})` : ""}`).join(", ")}`] : []),
    ...(s.compactions ? [`compacted ${s.compactions} times`] : []),
    "",
  ];
  let session = s.session;
  const cut = (x: string) => (Number.isFinite(width) && x.length > width ? `${x.slice(0, Math.max(10, width - 1))}…` : x);
  for (const m of s.messages) {
    if (m.session !== session) {
      session = m.session;
      out.push("", bold(`── subagent ${m.session} ──`));
    }
    out.push(...messageLines(m, tools, bold, dim, cut));
  }
  return `${out.join("\n")}\n`;
}

function messageLines(m: ShownMessage, tools: boolean, bold: (x: string) => string, dim: (x: string) => string, cut: (x: string) => string): string[] {
  const more = m.length > m.text.length ? dim(` [${count(m.length - m.text.length)} more characters in the archive]`) : "";
  const body = (x: string) => x.split("\n").map((l) => `  ${l}`);
  switch (m.kind) {
    case "tool_call":
      return tools ? [dim(`${time(m.at)} tool call`), ...body(m.text + more)] : [cut(`  → ${m.text.replace(/\s+/g, " ")}`)];
    case "tool_result":
      return tools ? [dim(`${time(m.at)} tool result${m.tool ? ` (${m.tool})` : ""}`), ...body(m.text + more)] : [];
    case "compaction":
      return [bold(`── compaction ${time(m.at)} ──`), ...(m.text ? body(m.text) : [])];
    case "summary":
      return [dim(`summary: ${m.text}`)];
    default:
      return ["", bold(`${m.role === "user" ? "user" : "assistant"}${m.model ? dim(` (${m.model})`) : ""} ${dim(time(m.at))}`), ...body(m.text + more)];
  }
}
