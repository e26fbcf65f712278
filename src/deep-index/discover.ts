// Where the agents keep their logs, and which session each file is.

import { existsSync, readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";

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
  /** What the listing's stat found. */
  listed: ListedStat;
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

/** A file's state as the listing found it: one stat, which the planner reads instead of its own. */
export interface ListedStat {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Walks the roots for .jsonl files. Symlinked directories and files are followed, and each file and
 * directory is taken once, by device and inode: the same file through two roots, a symlink, a root
 * given twice or a root inside another counts once, and a symlink loop ends the walk there. Roots
 * are walked outermost first, so a file is named from the widest root that reaches it.
 */
class Walk {
  private readonly seenDirs = new Set<string>();
  private readonly seenFiles = new Set<string>();

  *files(dir: string): Generator<[string, ListedStat]> {
    let st;
    try {
      st = statSync(dir); // follows a symlink
    } catch {
      return; // a root that does not exist (no Codex installed) is simply empty
    }
    if (st.isFile()) {
      if (dir.endsWith(".jsonl") && this.first(this.seenFiles, st)) yield [dir, listed(st)]; // a single file named on the command line
      return;
    }
    if (!st.isDirectory() || !this.first(this.seenDirs, st)) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    // in name order, not the file system's: which copy of a call wins a tie, and the ids, follow it
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const p = join(dir, name);
      let e;
      try {
        e = statSync(p);
      } catch {
        continue; // gone since the listing, or a dangling symlink
      }
      if (e.isDirectory()) yield* this.files(p);
      else if (e.isFile() && name.endsWith(".jsonl") && this.first(this.seenFiles, e)) yield [p, listed(e)];
    }
  }

  /** True the first time this device and inode is met. */
  private first(seen: Set<string>, st: { dev: number; ino: number }): boolean {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }
}

const listed = (st: Stats): ListedStat => ({ dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });

/** Roots as absolute paths, each once, the outermost first (a root inside another adds nothing). */
function rootOrder(roots: string[]): string[] {
  return [...new Set(roots.map((r) => resolve(r)))].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
}

/**
 * The agents' log files under the roots; with `only`, just those at or under these paths (the
 * ones a watch named), each named from the outermost root that holds it.
 */
export function discover(roots: { claude: string[]; codex: string[] }, only?: string[]): AgentFile[] {
  const out: AgentFile[] = [];
  const walk = new Walk();
  for (const agent of ["claude", "codex"] as const) {
    for (const root of rootOrder(roots[agent])) {
      const starts = only ? only.filter((p) => p === root || p.startsWith(root + sep)) : [root];
      for (const start of starts) for (const [path, st] of walk.files(start)) out.push({ ...agentFile(agent, path, root), listed: st });
    }
  }
  return out;
}

function agentFile(agent: Agent, path: string, root: string): Omit<AgentFile, "listed"> {
  if (agent === "claude") return claudeFile(path, root);
  return { path, agent, sessionKey: `codex:${basename(path, ".jsonl")}`, subagent: false, parentSession: null, metaPath: null, projectDir: null };
}

function claudeFile(path: string, root: string): Omit<AgentFile, "listed"> {
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
