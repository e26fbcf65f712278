// Where the agents keep their logs, and which session each file is.

import { existsSync, lstatSync, readdirSync, readFileSync, statSync, type Dirent, type Stats } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { homeDir } from "../runtime/host";

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
  const home = homeDir(env);
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

/** A file the walk found: its path, the root it was found from, and what its stat said. */
type Found = [path: string, root: string, st: ListedStat];

/**
 * Walks the roots for .jsonl files. Symlinked directories and files are followed, and each file and
 * directory is taken once, by device and inode: the same file through two roots, a symlink, a root
 * given twice or a root inside another counts once, and a symlink loop ends the walk there. Roots
 * are walked outermost first, so a file is named from the widest root that reaches it.
 *
 * A symlink is followed only once every path without one has been walked: a file reached both
 * ways is named by its own path, the one its row knows. Named by a link that sorts first, a file
 * replaced through a rename (a new inode) would match no row, and its old content would stay
 * counted beside the new.
 */
class Walk {
  readonly found: Found[] = [];
  private readonly seenDirs = new Set<string>();
  private readonly seenFiles = new Set<string>();
  /** Symlinks met on the way, each with its root, followed by `followLinks`. */
  private readonly links: Array<[path: string, root: string]> = [];

  /** Walks `start` (a root, or a path under it that a watch named); a symlink below a root waits. */
  walk(start: string, root: string) {
    if (start !== root && isLink(start)) this.links.push([start, root]);
    else this.visit(start, root);
  }

  /** Follows the symlinks met so far, and those met behind them. */
  followLinks() {
    for (let i = 0; i < this.links.length; i++) this.visit(...this.links[i]!);
    this.links.length = 0;
  }

  /** A root, or a path a symlink names: asked what it is (a stat that follows the link). */
  private visit(path: string, root: string) {
    let st;
    try {
      st = statSync(path); // follows a symlink
    } catch {
      return; // gone since the listing, a dangling symlink, or a root that does not exist (no Codex installed)
    }
    if (st.isFile()) this.file(path, root, st);
    else if (st.isDirectory() && this.first(this.seenDirs, st)) this.list(path, root);
  }

  /**
   * A directory's entries, in name order. A subdirectory listed here is entered without a stat of
   * its own: only a symlink can lead into a directory twice, and each link is visited (and its
   * directory's inode remembered) before it is entered. Of an unchanged tree's listing, the stat of
   * each directory was a quarter of the time.
   */
  private list(path: string, root: string) {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return; // removed since its parent was listed, or not readable
    }
    // in name order, not the file system's: which copy of a call wins a tie, and the ids, follow it
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(path, e.name);
      if (e.isDirectory()) this.list(p, root);
      else if (e.isFile()) {
        if (e.name.endsWith(".jsonl")) this.statFile(p, root);
      } else if (e.isSymbolicLink() || isLink(p)) this.links.push([p, root]);
      else this.visit(p, root); // a file system that gives no type: asked
    }
  }

  private statFile(path: string, root: string) {
    try {
      this.file(path, root, statSync(path));
    } catch {
      // gone since the listing
    }
  }

  private file(path: string, root: string, st: Stats) {
    if (path.endsWith(".jsonl") && this.first(this.seenFiles, st)) this.found.push([path, root, listed(st)]);
  }

  /** True the first time this device and inode is met. */
  private first(seen: Set<string>, st: { dev: number; ino: number }): boolean {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
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
    const order = rootOrder(roots[agent]);
    for (const start of only ?? order) {
      // named from the outermost root that holds it: a root inside another is a path under it (a
      // symlink there waits like any other)
      const root = order.find((r) => start === r || start.startsWith(r + sep));
      if (root !== undefined) walk.walk(start, root);
    }
    walk.followLinks();
    for (const [path, root, st] of walk.found) out.push({ ...agentFile(agent, path, root), listed: st });
    walk.found.length = 0;
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
