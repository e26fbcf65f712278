// Where the agents keep their logs, and which session each file is.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";

export type Agent = "claude" | "codex";

export interface AgentFile {
  path: string;
  agent: Agent;
  /** sessions.session_key */
  sessionKey: string;
  subagent: boolean;
  parentSession: string | null;
  /** A subagent's `.meta.json` (Claude Code 2.1.2+), read for its agent type only when the file is new. */
  metaPath: string | null;
  /** The project directory name Claude Code derives from the cwd, a fallback for the project. */
  projectDir: string | null;
}

/** The roots to scan: the flags when given, else CLAUDE_CONFIG_DIR (comma-separated) and CODEX_HOME. */
export function agentRoots(o: { claude?: string[]; codex?: string[] }, env: NodeJS.ProcessEnv = process.env) {
  const home = env.HOME || homedir();
  const claude = o.claude?.length ? o.claude : (env.CLAUDE_CONFIG_DIR ? env.CLAUDE_CONFIG_DIR.split(",").map((s) => s.trim()).filter(Boolean) : [join(home, ".claude")]);
  const codex = o.codex?.length ? o.codex : [env.CODEX_HOME || join(home, ".codex")];
  // A config directory holds projects/ (Claude) or sessions/ (Codex); a path to those works too.
  return {
    claude: claude.map((d) => (existsSync(join(d, "projects")) ? join(d, "projects") : d)),
    codex: codex.map((d) => (existsSync(join(d, "sessions")) ? join(d, "sessions") : d)),
  };
}

function* jsonlFiles(dir: string): Generator<string> {
  if (dir.endsWith(".jsonl")) {
    if (existsSync(dir)) yield dir; // a single file named on the command line
    return;
  }
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // a root that does not exist (no Codex installed) is simply empty
  }
  // in name order, not the file system's: which copy of a call wins a tie, and the ids, follow it
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* jsonlFiles(p);
    else if (e.isFile() && e.name.endsWith(".jsonl")) yield p;
  }
}

export function discover(roots: { claude: string[]; codex: string[] }): AgentFile[] {
  const out: AgentFile[] = [];
  for (const root of roots.claude) for (const path of jsonlFiles(root)) out.push(claudeFile(path, root));
  for (const root of roots.codex) {
    for (const path of jsonlFiles(root)) {
      out.push({ path, agent: "codex", sessionKey: `codex:${basename(path, ".jsonl")}`, subagent: false, parentSession: null, metaPath: null, projectDir: null });
    }
  }
  return out;
}

function claudeFile(path: string, root: string): AgentFile {
  const stem = basename(path, ".jsonl");
  const dir = dirname(path);
  // <project>/<session>/subagents/agent-<id>.jsonl (Claude Code 2.1.2+), with agent-<id>.meta.json
  if (basename(dir) === "subagents") {
    const parent = basename(dirname(dir));
    return { path, agent: "claude", sessionKey: `claude:${parent}/${stem}`, subagent: true, parentSession: parent, metaPath: join(dir, `${stem}.meta.json`), projectDir: basename(dirname(dirname(dir))) };
  }
  const projectDir = dir === root ? null : basename(dir);
  // <project>/agent-<id>.jsonl (earlier versions): the parent is the sessionId of its lines
  if (stem.startsWith("agent-")) return { path, agent: "claude", sessionKey: `claude:${projectDir}/${stem}`, subagent: true, parentSession: null, metaPath: null, projectDir };
  return { path, agent: "claude", sessionKey: `claude:${stem}`, subagent: false, parentSession: null, metaPath: null, projectDir };
}

/** The agent type a subagent's .meta.json names, if it has one. */
export function subagentType(metaPath: string | null): string | null {
  if (metaPath === null) return null;
  try {
    if (!statSync(metaPath).isFile()) return null;
    const m = JSON.parse(readFileSync(metaPath, "utf8"));
    const t = m?.agentType ?? m?.subagent_type ?? m?.type;
    return typeof t === "string" ? t : null;
  } catch {
    return null;
  }
}
