// `sluice statusline`: Claude Code's statusLine command. Claude Code runs it after each message
// with its status JSON on stdin and shows the line it prints. It first brings the session's
// transcript (and its subagents) into the index, through the deep index's writer and its rules,
// unless another writer holds it (the index follower, which is then at most a moment behind);
// then it prints the line from the index. It never fails the host: any error is a short line and
// exit 0, and a database it cannot read leaves the figures of the JSON alone.

import type { Database } from "bun:sqlite";
import { defineCommand } from "citty";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { openDatabase } from "../db/open";
import { releaseWriter, tryClaimWriter } from "../db/writer-lock";
import { unsyncedCommitsInWal } from "../db/settings";
import { loadPrices } from "../report/prices";
import { inputFigures, renderStatusLine, statusFigures, type StatusFigures, type StatusInput } from "../report/statusline";
import { config } from "../runtime/config";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { tzFlag } from "../report/dates";
import { helpMeta } from "./help";
import { printJson } from "./output";
import { isTerminal, writeOut } from "../runtime/stdio";

/** How long to wait for the JSON on stdin: Claude Code writes it at once and closes the pipe. */
const STDIN_MS = 2000;

async function readInput(): Promise<StatusInput> {
  if (isTerminal(0)) throw new Error("reads Claude Code's status JSON on stdin (set it as statusLine.command in ~/.claude/settings.json)");
  const text = await Promise.race([Bun.stdin.text(), Bun.sleep(STDIN_MS).then(() => null)]);
  if (text === null) throw new Error(`no status JSON on stdin within ${STDIN_MS / 1000} s`);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw new Error("stdin is not Claude Code's status JSON");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new Error("stdin is not Claude Code's status JSON");
  return input as StatusInput;
}

/**
 * Indexes the session's transcript and its subagents, named as `sluice index` names them (from
 * the projects directory that holds them). Only where a deep index exists (a capture-only
 * database is not given one file's worth), and only when no other writer holds the claim.
 */
async function refresh(db: Database, dbPath: string, transcript: string): Promise<"indexed" | "busy" | "none"> {
  if (!existsSync(transcript) || !db.query("SELECT 1 FROM agent_files LIMIT 1").get()) return "none";
  if (unchanged(db, transcript)) return "none";
  unsyncedCommitsInWal(db); // the claim and its release are commits too
  const claim = tryClaimWriter(db, dbPath, "deep-index", "statusline");
  if (!("id" in claim)) return "busy";
  try {
    const projects = dirname(dirname(transcript));
    const sessionDir = join(dirname(transcript), basename(transcript, ".jsonl"));
    const only = existsSync(sessionDir) ? [transcript, sessionDir] : [transcript];
    // loaded only when there is something to index: most of the binary's start-up is not paid for nothing
    const [{ discover }, { indexFiles }] = await Promise.all([import("../deep-index/discover"), import("../deep-index/indexer")]);
    await indexFiles(db, discover({ claude: [projects], codex: [] }, only), { parseThreads: 0, some: true });
    return "indexed";
  } finally {
    releaseWriter(db, claim.id);
  }
}

/**
 * Whether the index already has the transcript as it is (its size and mtime as indexed, and no
 * subagent directory beside it that could have grown): one read, no write, no claim.
 */
function unchanged(db: Database, transcript: string): boolean {
  const st = statSync(transcript);
  if (existsSync(join(dirname(transcript), basename(transcript, ".jsonl")))) return false;
  const row = db.query("SELECT size, mtime_ms FROM agent_files WHERE path = ?").get(transcript) as { size: number; mtime_ms: number } | null;
  return row !== null && row.size === st.size && row.mtime_ms === st.mtimeMs;
}

async function figures(input: StatusInput, args: Record<string, any>, month: boolean): Promise<{ f: StatusFigures; note?: string }> {
  const dbPath = resolveDbPath(args.db);
  if (!existsSync(dbPath)) return { f: inputFigures(input), note: "no sluice index: run 'sluice index'" };
  const options = { prices: loadPrices(args.prices ?? config().prices), tz: tzFlag(args.tz), now: Date.now(), month };
  let db: Database;
  try {
    db = openDatabase(dbPath, { currentSchema: true });
    db.run("PRAGMA busy_timeout = 200");
  } catch {
    return { f: inputFigures(input), note: "index unreadable: see 'sluice check'" };
  }
  try {
    if (args.index !== false && input.transcript_path) {
      try {
        await refresh(db, dbPath, input.transcript_path);
      } catch {
        // busy or unwritable: the index as it stands is still worth showing
      }
    }
    return { f: statusFigures(db, input, options) };
  } catch {
    return { f: inputFigures(input), note: "index busy" };
  } finally {
    db.close();
  }
}

const percent = (name: string, v: string | undefined, fallback: number) => {
  const x = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 100) throw new Error(`--${name} ${v} is not a percentage from 0 to 100`);
  return x;
};

export default defineCommand({
  meta: helpMeta({
    name: "statusline",
    description: "Claude Code's status line: model, session / today / block cost, burn rate, context, 5-hour and 7-day use (reads its JSON on stdin)",
    examples: [
      `~/.claude/settings.json: "statusLine": { "type": "command", "command": "sluice statusline" }`,
      "sluice statusline --json < status.json      # the figures, for another status bar",
    ],
  }),
  args: {
    "context-low": { type: "string", description: "Context use below this percentage is green (default 50)", valueHint: "pct", group: "output" },
    "context-high": { type: "string", description: "Below this, yellow; from it, red (default 80); the 5-hour and 7-day use too", valueHint: "pct", group: "output" },
    "daily-budget": { type: "string", description: "Dollars a day: today's cost is shown against it, red past it", valueHint: "usd", group: "output" },
    tz: { type: "string", description: "Time zone 'today' is counted in (default: this machine's)", valueHint: "Area/City", group: "output" },
    index: { type: "boolean", description: "Bring the transcript into the index first (default; --no-index: read the index as it is)", default: true, group: "advanced" },
    prices: { type: "string", description: "A JSON price table laid over the built-in one", valueHint: "file", group: "advanced" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    try {
      const c = config().statusline ?? {}, budget = config().budget ?? {};
      const low = percent("context-low", args["context-low"], c.contextLow ?? 50), high = percent("context-high", args["context-high"], c.contextHigh ?? 80);
      const daily = args["daily-budget"] === undefined ? budget.daily : Number(args["daily-budget"]);
      if (daily !== undefined && !(daily >= 0)) throw new Error(`--daily-budget ${args["daily-budget"]} is not a number of dollars`);
      const { f, note } = await figures(await readInput(), args, budget.monthly !== undefined);
      if (args.json) printJson({ ...f, note: note ?? null });
      else {
        const color = c.color !== false && !(process.env.NO_COLOR || process.env.SLUICE_NO_COLOR);
        writeOut(renderStatusLine(f, { color, contextLow: low, contextHigh: high, dailyBudget: daily, monthlyBudget: budget.monthly, note }) + "\n");
      }
    } catch (err) {
      // a status line that fails blanks Claude Code's: say what is wrong on the line itself
      writeOut(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  },
});
