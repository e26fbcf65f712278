// `sluice mcp`: the archive and the reports as a Model Context Protocol server over stdio, with
// the official TypeScript SDK, read-only. Each call opens the database read-only for itself, so a
// running index or ingester is never blocked, and `vacuum --full` replacing the file is followed.
// The tools give the same shapes as the CLI's --json.

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Database } from "bun:sqlite";
import { defineCommand } from "citty";
import { z } from "zod";
import { maskSecrets } from "../archive/mask";
import { searchJson, searchRanked } from "../archive/search";
import { resolveSession, withSubagents } from "../archive/sessions";
import { openDatabase } from "../db/open";
import { loadPrices } from "../report/prices";
import { build, KINDS, options } from "../report/request";
import { dateRange } from "../report/dates";
import { showSession } from "../report/show";
import { VERSION } from "../runtime/version";
import { dbArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { stdoutStream } from "../runtime/stdio";

const DAY_MS = 86_400_000;

export default defineCommand({
  meta: helpMeta({
    name: "mcp",
    description: "Serve the archive and the reports to an agent over stdio (Model Context Protocol), read-only: search, show a session, list sessions, usage reports",
    examples: ["claude mcp add sluice -- sluice mcp          # Claude Code", "sluice mcp --db ~/sluice.db"],
  }),
  args: { ...dbArg },
  async run({ args }) {
    const dbPath = resolveDbPath(args.db);
    const server = new McpServer({ name: "sluice", version: VERSION });
    registerTools(server, <T>(work: (db: Database) => T): T => {
      const db = openDatabase(dbPath, { readonly: true, currentSchema: true });
      try {
        return work(db);
      } finally {
        db.close();
      }
    });
    await server.connect(new StdioServerTransport(process.stdin, stdoutStream()));
    await new Promise<void>((resolve) => process.stdin.once("close", resolve));
  },
});

type WithDb = <T>(work: (db: Database) => T) => T;

/** A tool's answer: the JSON, or one line saying what was wrong. */
function answer(f: () => unknown) {
  try {
    return { content: [{ type: "text" as const, text: JSON.stringify(f(), null, 1) }] };
  } catch (err) {
    return { content: [{ type: "text" as const, text: (err as Error).message.split("\n")[0]! }], isError: true };
  }
}

const range = (since?: string, until?: string) => {
  const r = dateRange(since, until, "UTC");
  return { since: r.since ? `${r.since}T00:00:00.000Z` : undefined, until: r.until ? new Date(Date.parse(`${r.until}T00:00:00Z`) + DAY_MS).toISOString() : undefined };
};

function registerTools(server: McpServer, withDb: WithDb) {
  const readOnly = { readOnlyHint: true, openWorldHint: false };
  server.registerTool("search", {
    description: "Full-text search (SQLite FTS5) over the archived conversations of Claude Code and Codex: prompts, answers, tool calls and the head of their output. Phrases in double quotes, prefix*, AND/OR/NOT.",
    inputSchema: {
      query: z.string(), project: z.string().optional(), agent: z.enum(["claude", "codex"]).optional(), session: z.string().optional(),
      role: z.enum(["user", "assistant", "tool", "system"]).optional(), since: z.string().optional().describe("YYYY-MM-DD, 7d, 2w"), until: z.string().optional(),
      limit: z.number().int().min(1).max(500).optional(),
    },
    annotations: readOnly,
  }, async (a) => answer(() => withDb((db) => {
    const sessions = a.session ? withSubagents(db, resolveSession(db, a.session)).map((s) => s.id) : undefined;
    return searchJson(a.query, searchRanked(db, a.query, { project: a.project, agent: a.agent, role: a.role, sessions, limit: a.limit ?? 20, ...range(a.since, a.until) }));
  })));
  server.registerTool("show_session", {
    description: "One archived session: project, models, tokens and cost, subagents, and its messages in order (credentials masked).",
    inputSchema: { session: z.string().describe("the agent's session id, a prefix of it, or its key") },
    annotations: readOnly,
  }, async (a) => answer(() => withDb((db) => showSession(db, resolveSession(db, a.session), loadPrices(undefined)))));
  server.registerTool("list_sessions", {
    description: "The sessions in the index, newest first: key, agent, project, times, turns, tokens, first prompt.",
    inputSchema: { project: z.string().optional(), agent: z.enum(["claude", "codex"]).optional(), limit: z.number().int().min(1).max(1000).optional() },
    annotations: readOnly,
  }, async (a) => answer(() => withDb((db) => {
    const rows = db.query(`SELECT session_key AS session, agent, project, parent_session AS parentSession, first_at AS firstAt, last_at AS lastAt, turns,
        input_tokens AS inputTokens, output_tokens AS outputTokens, primary_model AS primaryModel, first_prompt AS firstPrompt
      FROM sessions WHERE (?1 IS NULL OR project LIKE '%' || ?1 || '%') AND (?2 IS NULL OR agent = ?2) ORDER BY last_at DESC LIMIT ?3`)
      .all(a.project ?? null, a.agent ?? null, a.limit ?? 50) as Array<{ firstPrompt: string | null }>;
    return { sessions: rows.map((r) => ({ ...r, firstPrompt: r.firstPrompt === null ? null : maskSecrets(r.firstPrompt) })) };
  })));
  server.registerTool("usage_report", {
    description: "Token and cost report from the index, exactly as `sluice report KIND --json` gives it (ccusage's field names); the options are the report's flags.",
    inputSchema: {
      kind: z.enum(KINDS), since: z.string().optional().describe("YYYY-MM-DD, YYYYMMDD, today, 7d, 2w"), until: z.string().optional(), tz: z.string().optional(),
      project: z.string().optional(), agent: z.enum(["claude", "codex"]).optional(), id: z.string().optional().describe("session: one session"),
      active: z.boolean().optional().describe("blocks: the active one"), order: z.enum(["asc", "desc"]).optional(),
    },
    annotations: readOnly,
  }, async (a) => answer(() => {
    const { kind, ...args } = a;
    // the same reading of the flags, and the same builder, as the CLI's report
    const o = options(kind, args);
    return withDb((db) => build(db, kind, args, o));
  }));
}
