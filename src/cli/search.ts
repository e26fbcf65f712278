import { defineCommand } from "citty";
import { cutNote, MATCH_END, MATCH_START, plain, searchJson, searchRanked, type SearchHit, type SearchResult } from "../archive/search";
import { resolveSession, withSubagents } from "../archive/sessions";
import { openDatabase } from "../db/open";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { dbArg, intFlag, jsonArg, resolveDbPath } from "./flags";
import { dateRange } from "../report/dates";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { writeOut } from "../runtime/stdio";

const ROLES = ["user", "assistant", "tool", "system"];
const AGENTS = ["claude", "codex"];
const DAY_MS = 86_400_000;

export default defineCommand({
  meta: helpMeta({
    name: "search",
    description: "Search the archived conversations: prompts, answers, tool calls and their output (SQLite FTS5: phrases, prefixes, AND/OR/NOT)",
    examples: [
      "sluice search 'race condition' --since 30d      # both words; newest first among equals",
      "sluice search '\"rotation test\"' --agent codex    # a phrase",
      "sluice search 'migrat* NOT sqlite' --role user --json",
    ],
  }),
  args: {
    query: { type: "positional", description: "Words, \"a phrase\", prefix*, AND / OR / NOT, NEAR(a b)", required: true, valueHint: "query" },
    project: { type: "string", description: "Only sessions whose project (working directory) contains this", valueHint: "text" },
    agent: { type: "string", description: "Only this agent's sessions: claude or codex", valueHint: "agent" },
    session: { type: "string", description: "Only this session (and its subagents)", valueHint: "session" },
    role: { type: "string", description: "Only messages of this role: user, assistant, tool (calls and results) or system (compactions, summaries)", valueHint: "role" },
    since: { type: "string", description: "From this day on (UTC): YYYY-MM-DD, today, yesterday, 7d, 2w", valueHint: "date" },
    until: { type: "string", description: "Up to and including this day (UTC)", valueHint: "date" },
    limit: { type: "string", description: "At most this many results (default 20)", valueHint: "n" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.agent && !AGENTS.includes(args.agent)) throw new SluiceError(`--agent ${args.agent}: use claude or codex`, EXIT_USAGE);
    if (args.role && !ROLES.includes(args.role)) throw new SluiceError(`--role ${args.role}: use one of ${ROLES.join(", ")}`, EXIT_USAGE);
    const range = dateRange(args.since, args.until, "UTC");
    const limit = intFlag("limit", args.limit, 20, 1);
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      const sessions = args.session ? withSubagents(db, resolveSession(db, args.session)).map((s) => s.id) : undefined;
      const found = searchRanked(db, String(args.query), {
        project: args.project, agent: args.agent, role: args.role, sessions, limit,
        since: range.since ? `${range.since}T00:00:00.000Z` : undefined,
        until: range.until ? new Date(Date.parse(`${range.until}T00:00:00Z`) + DAY_MS).toISOString() : undefined,
      });
      if (args.json) printJson(searchJson(String(args.query), found));
      else writeOut(render(found));
    } finally {
      db.close();
    }
  },
});

/** One result: where and when, then the snippet on one line, the matches in colour on a terminal. */
function render(found: SearchResult): string {
  const hits: SearchHit[] = found.hits;
  if (!hits.length) return "no matches\n";
  const { color } = textOutput();
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[22m` : s);
  const out: string[] = [];
  for (const h of hits) {
    const where = [h.at ? h.at.slice(0, 16).replace("T", " ") : "undated", h.session, h.project ?? "", h.tool ? `${h.role}:${h.tool}` : h.role].filter(Boolean).join("  ");
    const snippet = h.snippet.replace(/\s+/g, " ");
    out.push(dim(where), `  ${color ? snippet.replaceAll(MATCH_START, "\x1b[1;33m").replaceAll(MATCH_END, "\x1b[0m") : plain(snippet)}`);
  }
  if (found.ranked) out.push(dim(`(${cutNote(found.ranked)})`));
  return `${out.join("\n")}\n`;
}
