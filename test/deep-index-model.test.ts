// Model-based test of the deep index, in the manner of follow-model.test.ts: seeded random
// sequences of actions on Claude Code transcripts and Codex rollouts go to the real binary, and a
// plain model says what the index must hold at the end of each sequence.
//
// Actions (SLUICE_DEEP_MODEL_ACTIONS names): append (complete lines, to a new or an existing file),
// partial (the last line cut short, completed by a later append), rewrite (in place: new content,
// or the same calls with other usage), rewrite-tail (in place, the first 4 KiB kept), replace
// (through a temporary file renamed over it: a new inode), rename (a file), rename-dir (a project
// or a Codex day directory), link (a symlink to a file or a project, in the same root or a second
// one; or a project moved out of the root, a symlink left in its place), roots (an index run whose
// roots overlap: the same root twice, spelled twice, through a symlink, or a root and a project
// inside it), delete, index (`sluice index`), overlap (two index runs at once), follow (`index
// --follow` in the background, killed with -9 or TERM at a random moment a few actions later),
// kill (`sluice index` killed with -9 mid-run), vacuum (`vacuum --full` alone, racing an index run,
// beside the follower or with a follower started during it: it may refuse, never lose or double a
// row, and the database must open whole afterwards).
//
// The model: the index equals a fresh `sluice index` into a new database of (a) the files on disk
// now, each counted once however many paths reach it, with only their complete lines, and (b) for
// each deleted file, the complete lines it had when an index run last read it (the index is an
// archive). A rewritten file counts with its new content only. Compared after a final index run:
// the token sums and count of turns, the multiset of Claude calls (message id, request id, tokens)
// and of Codex calls (model, time, tokens), the invocations (kind, name, tool use id) and their
// count, and `sluice report daily --json`. Not compared: session keys and paths (a renamed file
// keeps its first session).
//
// What an index run last read is known exactly after a run that exits 0. A killed run, or the
// follower while files change, may or may not have read a state: the model keeps every such state
// of a file, and before it deletes a file with more than one it runs `sluice index` (a sync), so
// that what the archive must hold is known. It syncs too between a move and a new inode or new
// first bytes of the same file: no index could tell those from a file deleted and another created.
//
//   300 sequences by default (about 2-3.5 minutes on 2 cores), 3,000 in `bun run test:faults`.
//   SLUICE_DEEP_MODEL_SEQUENCES sets the count, SLUICE_DEEP_MODEL_SEED the first seed,
//   SLUICE_DEEP_MODEL_ONLY=<seed> replays one (with the same SLUICE_DEEP_MODEL_ACTIONS),
//   SLUICE_DEEP_MODEL_ACTIONS=append,partial,... runs only those (default and `all`:
//   every action; `simple`: append, partial,
//   delete, index, kill, overlap, follow), SLUICE_DEEP_MODEL_PARALLEL how many run at once (4), and
//   SLUICE_DEEP_MODEL_KEEP=1 keeps every sequence's files. A failing sequence prints its seed and
//   keeps its files, its action log (actions.txt) and what differed (failure.txt).
//   A process that hangs (still running SLUICE_DEEP_MODEL_HUNG_MS, 120 s, after it started, or
//   the follower after its stop signal; or whose pipes or exit never came) fails its sequence with
//   what /proc says its threads wait in and the database's claims, instead of stalling the test.

import { afterAll, expect, test } from "bun:test";
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { Rng } from "../bench/generate";
import { openReader, RUNNERS, tempDir } from "./helpers";

const env = process.env;
const SEQUENCES = Number(env.SLUICE_DEEP_MODEL_SEQUENCES ?? 300);
const FIRST_SEED = Number(env.SLUICE_DEEP_MODEL_SEED ?? 1);
const ONLY = env.SLUICE_DEEP_MODEL_ONLY ? Number(env.SLUICE_DEEP_MODEL_ONLY) : null;
const KEEP = !!env.SLUICE_DEEP_MODEL_KEEP;
const PARALLEL = Number(env.SLUICE_DEEP_MODEL_PARALLEL ?? 4);
const BIN = RUNNERS[1]!.cmd;
/** A process that has not ended this long after it started (or, the follower, after its stop signal) hangs. */
const HUNG_MS = Number(env.SLUICE_DEEP_MODEL_HUNG_MS ?? 120_000);

const KINDS = ["append", "partial", "rewrite", "rewrite-tail", "replace", "rename", "rename-dir", "link", "roots", "delete", "index", "overlap", "follow", "kill", "vacuum"] as const;
type Kind = (typeof KINDS)[number];
const WEIGHT: Record<Kind, number> = {
  append: 18, partial: 8, rewrite: 4, "rewrite-tail": 5, replace: 4, rename: 5, "rename-dir": 4, link: 6, roots: 4,
  delete: 7, index: 9, overlap: 5, follow: 6, kill: 6, vacuum: 5,
};
/** `simple`: the actions that need no notion of a file's identity (no file reached twice, renamed or rewritten) and no vacuum. */
const SIMPLE: Kind[] = ["append", "partial", "delete", "index", "kill", "overlap", "follow"];

/** SLUICE_DEEP_MODEL_ACTIONS: the actions a sequence may take (append always: the others need files). */
function enabledKinds(): Kind[] {
  const spec = env.SLUICE_DEEP_MODEL_ACTIONS;
  if (!spec || spec === "all") return [...KINDS];
  const names = spec.split(",").map((s) => s.trim()).filter(Boolean).flatMap((s) => (s === "simple" ? SIMPLE : [s]));
  for (const n of names) if (!KINDS.includes(n as Kind)) throw new Error(`SLUICE_DEEP_MODEL_ACTIONS: unknown action '${n}' (known: simple, ${KINDS.join(", ")})`);
  return KINDS.filter((k) => k === "append" || names.includes(k));
}
const ENABLED = enabledKinds();

const stats = {
  sequences: 0, actions: {} as Record<string, number>, indexKills: 0, followerKills: 0, followerTerms: 0,
  overlaps: 0, vacuums: 0, refusals: 0, syncs: 0, racedIndexFailures: 0,
};

// ---- what the agents write ----------------------------------------------------------------------

const WORDS = ["the", "function", "returns", "a", "value", "with", "error", "file", "config", "test", "déjà", "naïve", "日本語", "😀", "\"quoted\"", "back\\slash", "tab\there", "new\nline", "<tag>", "{json}", "[x]", "=>"];
const CLAUDE_MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001"];
const CODEX_MODELS = ["gpt-5-codex", "gpt-5", "gpt-5.1-codex-max"];
const TOOLS = ["Read", "Edit", "Bash", "Grep", "Write", "mcp__github__create_issue", "Task", "Skill"];
const SLASH = ["/model", "/clear", "/compact", "/doctor", "/review"];

const words = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.pick(WORDS)).join(" ");
const hex = (rng: Rng, n: number) => Array.from({ length: n }, () => "0123456789abcdef"[rng.int(16)]).join("");
const uuid = (rng: Rng) => `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-8${hex(rng, 3)}-${hex(rng, 12)}`;

/** Where a file's next lines continue from. Kept at each exchange's end, to rewrite from there. */
interface Gen {
  sessionId: string;
  cwd: string;
  model: string;
  sidechain: boolean;
  agentId: string | null;
  clock: number;
  /** Tool uses waiting for their results. */
  pending: string[];
  /** Codex: the cumulative input, cached input, output and reasoning tokens. */
  total: [number, number, number, number];
}

/** Lines of one Claude exchange: the user (a prompt, a slash command or tool results), maybe a line of another type, then one assistant message. */
function claudeExchange(g: Gen, rng: Rng, uid: () => string): string[] {
  const out: string[] = [];
  const at = () => new Date((g.clock += 300 + rng.int(90_000))).toISOString();
  const head = () => ({ parentUuid: `u-${uid()}`, isSidechain: g.sidechain, userType: "external", cwd: g.cwd, sessionId: g.sessionId, version: "2.0.28", gitBranch: "main", ...(g.agentId ? { agentId: g.agentId } : {}) });
  const user = (content: unknown) => out.push(JSON.stringify({ ...head(), type: "user", message: { role: "user", content }, uuid: `u-${uid()}`, timestamp: at() }));
  if (g.pending.length) {
    user(g.pending.map((id) => ({ tool_use_id: id, type: "tool_result", content: words(rng, 6), is_error: rng.chance(0.15) })));
    g.pending = [];
  } else if (rng.chance(0.15)) {
    const cmd = rng.pick(SLASH);
    user(`<command-name>${cmd}</command-name>\n            <command-message>${cmd.slice(1)}</command-message>\n            <command-args></command-args>`);
  } else user(rng.chance(0.5) ? words(rng, 4 + rng.int(20)) : [{ type: "text", text: words(rng, 4 + rng.int(20)) }]);
  const r = rng.next();
  if (r < 0.05) out.push(JSON.stringify({ type: "summary", summary: words(rng, 5), leafUuid: `u-${uid()}` }));
  else if (r < 0.1) out.push(JSON.stringify({ type: "file-history-snapshot", messageId: `u-${uid()}`, snapshot: { trackedFileBackups: {}, timestamp: at() }, isSnapshotUpdate: false }));
  else if (r < 0.13) out.push(JSON.stringify({ ...head(), type: "system", subtype: "compact_boundary", content: "Conversation compacted", timestamp: at() }));
  out.push(...claudeMessage(g, rng, uid, at, head));
  return out;
}

/** One assistant message, a line per content block, all with its ids: early lines carry a placeholder usage, or the final one. */
function claudeMessage(g: Gen, rng: Rng, uid: () => string, at: () => string, head: () => object): string[] {
  const id = `msg_01${uid()}`, requestId = rng.chance(0.9) ? `req_011${uid()}` : null;
  const model = rng.chance(0.04) ? "<synthetic>" : g.model;
  const write = rng.int(6000), oneHour = rng.chance(0.2) ? rng.int(write + 1) : 0;
  const final = {
    input_tokens: 1 + rng.int(40), cache_creation_input_tokens: write, cache_read_input_tokens: rng.int(80_000),
    cache_creation: { ephemeral_5m_input_tokens: write - oneHour, ephemeral_1h_input_tokens: oneHour }, output_tokens: 1 + rng.int(3000), service_tier: "standard",
  };
  const blocks = 1 + rng.int(3), same = rng.chance(0.5);
  const out: string[] = [];
  for (let b = 0; b < blocks; b++) {
    const last = b === blocks - 1, tool = last && rng.chance(0.5);
    let block: object;
    if (tool) {
      const name = rng.pick(TOOLS), tid = `toolu_01${uid()}`;
      g.pending.push(tid);
      const input = name === "Task" ? { subagent_type: rng.pick(["Explore", "general-purpose"]), prompt: words(rng, 5) } : name === "Skill" ? { skill: rng.pick(["pdf", "xlsx"]) } : { command: words(rng, 4) };
      block = { type: "tool_use", id: tid, name, input };
    } else if (b === 0 && rng.chance(0.3)) block = { type: "thinking", thinking: words(rng, 10), signature: hex(rng, 40) };
    else block = { type: "text", text: words(rng, 5 + rng.int(30)) };
    const usage = last || same ? final : { ...final, output_tokens: rng.int(final.output_tokens) };
    const message = { model, id, type: "message", role: "assistant", content: [block], stop_reason: last ? (tool ? "tool_use" : "end_turn") : null, stop_sequence: null, usage };
    out.push(JSON.stringify({ ...head(), message, ...(requestId ? { requestId } : {}), type: "assistant", uuid: `u-${uid()}`, timestamp: at() }));
  }
  return out;
}

function codexHead(g: Gen, rng: Rng): string {
  const at = new Date(g.clock).toISOString();
  return JSON.stringify({
    timestamp: at, type: "session_meta",
    payload: { id: g.sessionId, timestamp: at, cwd: g.cwd, originator: "codex_cli_rs", cli_version: "0.104.0", source: "cli", model_provider: "openai", git: { commit_hash: hex(rng, 40), branch: "main", repository_url: "git@github.com:acme/app.git" } },
  });
}

const RATE_LIMITS = { limit_id: "codex", primary: { used_percent: 2.0, window_minutes: 300, resets_at: 1771864834 }, secondary: null, credits: null, plan_type: null };

/** Lines of one Codex turn: the user, the turn context, tool calls and their outputs, token counts (cumulative, sometimes repeated, sometimes null). */
function codexExchange(g: Gen, rng: Rng, uid: () => string): string[] {
  const out: string[] = [];
  const at = () => new Date((g.clock += 50 + rng.int(20_000))).toISOString();
  const ev = (payload: object) => out.push(JSON.stringify({ timestamp: at(), type: "event_msg", payload }));
  const item = (payload: object) => out.push(JSON.stringify({ timestamp: at(), type: "response_item", payload }));
  ev({ type: "user_message", message: words(rng, 8), images: [], local_images: [], text_elements: [] });
  if (rng.chance(0.2)) g.model = rng.pick(CODEX_MODELS);
  out.push(JSON.stringify({ timestamp: at(), type: "turn_context", payload: { turn_id: uid(), cwd: g.cwd, approval_policy: "on-request", sandbox_policy: { type: "workspace-write", network_access: false }, model: g.model, effort: "high", summary: "auto" } }));
  if (rng.chance(0.3)) ev({ type: "token_count", info: null, rate_limits: RATE_LIMITS });
  const calls = Array.from({ length: rng.int(3) }, () => `call_${uid()}`);
  for (const id of calls) item({ type: "function_call", name: rng.pick(["exec_command", "apply_patch", "mcp__fs__read"]), arguments: JSON.stringify({ cmd: words(rng, 3) }), call_id: id });
  for (let s = 1 + rng.int(2); s > 0; s--) {
    const input = 1000 + rng.int(30_000), cached = rng.int(input), output = 1 + rng.int(2000), reasoning = rng.int(output + 1);
    const t = g.total;
    g.total = [t[0] + input, t[1] + cached, t[2] + output, t[3] + reasoning];
    const usage = (a: number[]) => ({ input_tokens: a[0], cached_input_tokens: a[1], output_tokens: a[2], reasoning_output_tokens: a[3], total_tokens: a[0]! + a[2]! });
    const payload = { type: "token_count", info: { total_token_usage: usage(g.total), last_token_usage: usage([input, cached, output, reasoning]), model_context_window: 258400 }, rate_limits: RATE_LIMITS };
    ev(payload);
    if (rng.chance(0.3)) ev(payload); // Codex repeats a count when nothing new was used
  }
  for (const id of calls) item({ type: "function_call_output", call_id: id, output: JSON.stringify({ output: words(rng, 5), metadata: { exit_code: rng.chance(0.2) ? 1 : 0, duration_seconds: 0.1 } }) });
  ev({ type: "agent_message", message: words(rng, 6) });
  return out;
}

/** The same calls with other usage (an edit of history): returns null when there is no count to change. */
function editUsage(lines: string[], agent: "claude" | "codex", rng: Rng): string[] | null {
  const counts = lines.map((l, i) => ({ l, i })).filter(({ l }) => (agent === "claude" ? l.includes('"usage":') : l.includes('"total_token_usage"')));
  if (!counts.length) return null;
  // The last count only: an index notices an in-place edit in a file's first 4 KiB or in the 4 KiB
  // before what it read (design.md, "Files known by identity"); an edit of the same size anywhere
  // between those is beyond what it promises, so the model does not make one.
  const pick = [counts[counts.length - 1]!];
  const out = [...lines];
  for (const { l, i } of pick) {
    const o = JSON.parse(l);
    const d = 1 + rng.int(900);
    if (agent === "claude") o.message.usage.output_tokens += d;
    else {
      for (const u of [o.payload.info.total_token_usage, o.payload.info.last_token_usage]) {
        u.output_tokens += d;
        u.total_tokens += d;
      }
    }
    out[i] = JSON.stringify(o);
  }
  return out;
}

// ---- the model ----------------------------------------------------------------------------------

interface MFile {
  id: number;
  agent: "claude" | "codex";
  /** Its real path now (symlinks may reach it too). */
  path: string;
  /** Its complete lines. */
  lines: string[];
  /** Exchange ends: a line count and the generator there. */
  marks: Array<{ lines: number; gen: string }>;
  gen: Gen;
  /** A line whose first `cut` bytes are in the file. */
  partial: Buffer | null;
  cut: number;
  /** The complete lines an index run may have last read (one once that is known). */
  candidates: Buffer[];
  deleted: boolean;
  /**
   * Moved to another path, and given a new inode or new first bytes, since an index run was known to
   * read it. Both at once and no index could tell the file from one deleted and another created (an
   * inode is reused): the model runs an index run (a sync) between the two. A rename and a rewrite
   * that keeps the first 4 KiB is the same file: no sync.
   */
  moved: boolean;
  reshaped: boolean;
}

const completeBytes = (f: MFile) => Buffer.from(f.lines.map((l) => l + "\n").join(""));
const diskBytes = (f: MFile) => (f.partial ? Buffer.concat([completeBytes(f), f.partial.subarray(0, f.cut)]) : completeBytes(f));
const distinct = (bufs: Buffer[]) => bufs.filter((b, i) => bufs.findIndex((c) => c.equals(b)) === i);
/** A Claude file's project directory: <project>/<session>.jsonl or <project>/<session>/subagents/agent-<id>.jsonl. */
const projectOf = (f: MFile) => (f.path.includes("/subagents/") ? dirname(dirname(dirname(f.path))) : dirname(f.path));

interface Proc {
  proc: ReturnType<typeof Bun.spawn>;
  done: Promise<{ code: number; signal: string | null; stdout: string; stderr: string }>;
}

/** The line of a process's stderr that says what went wrong. */
const firstLine = (s: string) => {
  const lines = s.trim().split("\n");
  return lines.find((l) => /\[error\]|error:/i.test(l)) ?? lines.find((l) => !/^\[info\]/.test(l)) ?? lines[0] ?? "";
};

class Sequence {
  readonly rng: Rng;
  readonly db: string;
  /** Claude config directories (A the real one, B of symlinks only), projects moved out of A, Codex homes (C, D). */
  readonly A: string;
  readonly B: string;
  readonly OUT: string;
  readonly C: string;
  readonly D: string;
  readonly files: MFile[] = [];
  readonly log: string[] = [];
  readonly done: string[] = [];
  /** The action under way, for a failure's message. */
  current = "";
  private ids = 0;
  private procs = 0;
  private readonly running = new Set<Proc["proc"]>();
  /** What the watchdog found hanging. */
  readonly hangs: string[] = [];
  private follower: { p: Proc; window: number } | null = null;
  /** An index run made the database (told by the actions, not the clock: a replay takes the same ones). */
  private made = false;
  /** A follower was started: it may have made the database, or be making it. */
  private followed = false;

  constructor(readonly seed: number, readonly dir: string) {
    this.rng = new Rng(seed);
    this.db = join(dir, "index.db");
    [this.A, this.B, this.OUT, this.C, this.D] = ["claude", "claude-b", "outside", "codex", "codex-b"].map((d) => join(dir, d)) as [string, string, string, string, string];
    mkdirSync(join(this.A, "projects"), { recursive: true });
    mkdirSync(join(this.C, "sessions"), { recursive: true });
  }

  uid = () => `${this.seed.toString(36)}x${(++this.ids).toString(36)}`;
  live = () => this.files.filter((f) => !f.deleted);
  rel = (p: string) => relative(this.dir, p);
  note = (s: string) => this.log.push(s);

  // ---- processes ----

  start(args: string[], tag: string, watched = true): Proc {
    const proc = Bun.spawn([...BIN, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    this.running.add(proc);
    const n = ++this.procs;
    if (watched) this.watchdog(proc, `[${n} ${tag}]`);
    const done = (async () => {
      const pipes = await Promise.all([pipeText(proc.stdout as ReadableStream<Uint8Array>, proc.exited), pipeText(proc.stderr as ReadableStream<Uint8Array>, proc.exited)]);
      const [stdout, stderr] = pipes.map((p) => p.text) as [string, string];
      // (the pipes close as the process ends: its exit not reported soon after is a hang of the runner's)
      const code = await Promise.race([proc.exited, Bun.sleep(PIPE_GRACE_MS).then(() => null)]);
      if (code === null) this.hangs.push(`[${n} ${tag}] closed its output, but its exit was not reported ${PIPE_GRACE_MS / 1000} s later: ${describeProcess(proc.pid)}`);
      if (pipes.some((p) => p.open)) this.hangs.push(`[${n} ${tag}] ended, but its output pipes were still open ${PIPE_GRACE_MS / 1000} s later`);
      this.running.delete(proc);
      const r = { code: code ?? -1, signal: proc.signalCode === null ? null : String(proc.signalCode), stdout, stderr };
      this.note(`    [${n} ${tag}] ${r.signal ?? `exit ${code}`}${stderr.trim() ? `: ${stderr.trim().replace(/\n/g, " | ")}` : ""}`);
      return r;
    })();
    return { proc, done };
  }

  exec = (args: string[], tag: string) => this.start(args, tag).done;

  /**
   * Kills `proc` with -9 if it has not ended HUNG_MS from now, noting what it was doing (its
   * threads' states and wait channels, the database's claims) for the sequence's failure: a hang
   * fails one sequence with its seed, not the whole test at its timeout.
   */
  watchdog(proc: Proc["proc"], tag: string) {
    const timer = setTimeout(() => {
      this.hangs.push(`${tag} (PID ${proc.pid}) still ran after ${HUNG_MS / 1000} s: ${describeProcess(proc.pid)}; ${describeClaims(this.db)}`);
      proc.kill("SIGKILL");
    }, HUNG_MS);
    proc.exited.finally(() => clearTimeout(timer));
  }

  /** Throws when a process hung (the watchdog killed it). */
  checkHangs() {
    if (this.hangs.length) throw new Error(`hung: ${this.hangs.join("\n")}`);
  }

  /** --claude and --codex for an index run; with `overlap`, roots that reach the same files twice. */
  roots(overlap: boolean): string[] {
    const claude = [this.A], codex = [this.C];
    if (existsSync(this.B)) claude.push(this.B);
    if (existsSync(this.D)) codex.push(this.D);
    if (overlap) {
      const project = this.live().filter((f) => f.agent === "claude").map(projectOf)[0];
      switch (this.rng.int(7)) {
        case 0: claude.push(this.A); break; // the same root twice
        case 1: claude.push(join(this.A, "projects") + "/"); break; // the same root, spelled another way
        case 2: claude.push(project ? join(this.A, "projects", basename(project)) : this.A); break; // a root and a project inside it
        case 3: claude.push(this.alias(this.A, "claude-alias")); break; // the root again, through a symlink
        case 4: codex.push(this.C); break;
        case 5: codex.push(existsSync(join(this.C, "sessions", "2026")) ? join(this.C, "sessions", "2026") : this.C); break; // a root and a directory inside it
        case 6: codex.push(this.alias(this.C, "codex-alias")); break;
      }
      if (this.rng.chance(0.5)) claude.reverse();
      if (this.rng.chance(0.5)) codex.reverse();
    }
    return ["--claude", claude.join(","), "--codex", codex.join(","), "--db", this.db];
  }

  alias(target: string, name: string): string {
    const p = join(this.dir, name);
    if (!existsSync(p)) symlinkSync(target, p);
    return p;
  }

  // ---- what the index may have read ----

  /** An index run that exited 0 read every file as it is now. */
  readAll() {
    for (const f of this.live()) {
      f.candidates = [completeBytes(f)];
      f.moved = f.reshaped = false;
    }
  }

  /** A run that was killed, or the follower while files changed: each file's state now may be the last one read. */
  mayReadAll() {
    for (const f of this.live()) f.candidates = distinct([...f.candidates, completeBytes(f)]);
  }

  /** After a file changed on disk. */
  changed(f: MFile) {
    if (this.follower) f.candidates = distinct([...f.candidates, completeBytes(f)]);
  }

  // ---- files ----

  /** A new transcript (a session or a subagent's, in a new or an existing project) or rollout. */
  newFile(): MFile {
    const { rng } = this;
    const agent = rng.chance(0.6) ? "claude" : "codex";
    const day = 1 + rng.int(4);
    const clock = Date.UTC(2026, 2, day, rng.int(24), rng.int(60), rng.int(60), rng.int(1000));
    const gen: Gen = {
      sessionId: uuid(rng), cwd: rng.pick(["/home/ana/src/app", "/Users/dev/work/api-server", "/srv/app"]), model: rng.pick(agent === "claude" ? CLAUDE_MODELS : CODEX_MODELS),
      sidechain: false, agentId: null, clock, pending: [], total: [0, 0, 0, 0],
    };
    let path: string;
    if (agent === "codex") {
      const t = new Date(clock).toISOString().slice(0, 19).replace(/:/g, "-");
      path = join(this.C, "sessions", "2026", "03", `0${day}`, `rollout-${t}-${gen.sessionId}.jsonl`);
    } else {
      const projects = [...new Set(this.live().filter((f) => f.agent === "claude").map(projectOf))];
      const project = projects.length && rng.chance(0.6) ? rng.pick(projects) : join(this.A, "projects", `-work-p${this.uid()}`);
      const parents = this.live().filter((f) => f.agent === "claude" && !f.gen.sidechain && projectOf(f) === project);
      if (rng.chance(0.3)) {
        gen.sidechain = true;
        gen.agentId = hex(rng, 7);
        if (parents.length && rng.chance(0.8)) {
          const parent = rng.pick(parents);
          gen.sessionId = parent.gen.sessionId;
          path = join(project, basename(parent.path, ".jsonl"), "subagents", `agent-a${gen.agentId}.jsonl`);
        } else path = join(project, `agent-${gen.agentId}.jsonl`); // the layout before Claude Code 2.1.2
      } else path = join(project, `${gen.sessionId}.jsonl`);
    }
    const f: MFile = { id: this.files.length + 1, agent, path: this.free(path), lines: [], marks: [], gen, partial: null, cut: 0, candidates: [Buffer.alloc(0)], deleted: false, moved: false, reshaped: false };
    this.files.push(f);
    return f;
  }

  /** A path nothing is at yet. */
  free(p: string): string {
    const taken = (q: string) => {
      try {
        lstatSync(q);
        return true;
      } catch {
        return false;
      }
    };
    while (taken(p)) p = p.endsWith(".jsonl") ? p.replace(/\.jsonl$/, `-${this.uid()}.jsonl`) : `${p}-${this.uid()}`;
    return p;
  }

  /** One exchange's lines added to the model (not written). */
  exchange(f: MFile) {
    f.lines.push(...(f.agent === "claude" ? claudeExchange(f.gen, this.rng, this.uid) : codexExchange(f.gen, this.rng, this.uid)));
    f.marks.push({ lines: f.lines.length, gen: JSON.stringify(f.gen) });
  }

  /** Appends `n` exchanges (completing a partial line first); with `partial`, the last line is cut short. */
  append(f: MFile, n: number, partial: boolean) {
    const parts: Buffer[] = [];
    const from = f.lines.length;
    if (f.partial) {
      parts.push(f.partial.subarray(f.cut), Buffer.from("\n"));
      f.lines.push(f.partial.toString());
      f.partial = null;
    }
    const fresh = f.lines.length;
    if (f.agent === "codex" && fresh === 0) f.lines.push(codexHead(f.gen, this.rng));
    for (let i = 0; i < n; i++) this.exchange(f);
    if (partial) {
      f.partial = Buffer.from(f.lines.pop()!);
      f.cut = 1 + this.rng.int(f.partial.length - 1);
    }
    const added = f.lines.slice(fresh);
    parts.push(Buffer.from(added.map((l) => l + "\n").join("")));
    if (f.partial) parts.push(f.partial.subarray(0, f.cut));
    mkdirSync(dirname(f.path), { recursive: true });
    appendFileSync(f.path, Buffer.concat(parts));
    this.changed(f);
    this.note(`   ${this.rel(f.path)} (file ${f.id}): +${f.lines.length - from} lines${f.partial ? `, then ${f.cut} of a line's ${f.partial.length} bytes` : ""}`);
  }

  /** New content in the model: the session started over, the same calls with other usage, or the first 4 KiB kept. */
  rewrite(f: MFile, how: "fresh" | "edit" | "tail"): string {
    f.partial = null;
    if (how === "tail" && this.rewriteTail(f)) return "tail";
    if (how !== "fresh") {
      const edited = editUsage(f.lines, f.agent, this.rng);
      if (edited) {
        f.lines = edited;
        this.syncTotals(f);
        return "edit";
      }
    }
    f.lines = [];
    f.marks = [];
    f.gen = { ...f.gen, pending: [], total: [0, 0, 0, 0], clock: f.gen.clock + 60_000 };
    if (f.agent === "codex") f.lines.push(codexHead(f.gen, this.rng));
    for (let n = 1 + this.rng.int(3); n > 0; n--) this.exchange(f);
    return "fresh";
  }

  /** Keeps the lines up to an exchange's end past the first 4 KiB; the rest edited or written anew, mostly no shorter than before. */
  private rewriteTail(f: MFile): boolean {
    const size = (n: number) => Buffer.byteLength(f.lines.slice(0, n).map((l) => l + "\n").join(""));
    const marks = f.marks.filter((m) => m.lines < f.lines.length && size(m.lines) >= 4096);
    if (!marks.length) return false;
    const m = marks[this.rng.int(Math.min(2, marks.length))]!;
    const before = completeBytes(f).length;
    const kept = f.lines.slice(0, m.lines);
    const edited = this.rng.chance(0.5) ? editUsage(f.lines.slice(m.lines), f.agent, this.rng) : null;
    if (edited) {
      f.lines = [...kept, ...edited];
      this.syncTotals(f);
      return true;
    }
    f.lines = kept;
    f.marks = f.marks.filter((x) => x.lines <= m.lines);
    f.gen = JSON.parse(m.gen);
    do this.exchange(f);
    while (completeBytes(f).length < before && this.rng.chance(0.9));
    return true;
  }

  /** A Codex file's generator continues from its last cumulative total. */
  private syncTotals(f: MFile) {
    if (f.agent !== "codex") return;
    const last = f.lines.findLast((l) => l.includes('"total_token_usage"'));
    if (!last) return;
    const u = JSON.parse(last).payload.info.total_token_usage;
    f.gen.total = [u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_output_tokens];
  }

  /** Rewrites the file (in the model, then on disk), with a sync first when the index could not tell it from another file (see MFile.moved). */
  async rewriteFile(f: MFile, how: "fresh" | "edit" | "tail", newInode: boolean): Promise<string> {
    const before = f.lines;
    const done = this.rewrite(f, how);
    const now = completeBytes(f);
    // the index knows a file by its inode and first 4 KiB (fewer when it was shorter: then any change counts)
    const reshaped = newInode || f.candidates.some((c) => c.length > 0 && (c.length < 4096 || !now.subarray(0, 4096).equals(c.subarray(0, 4096))));
    if (reshaped && f.moved) {
      const after = f.lines;
      f.lines = before;
      await this.sync("a rewrite of a moved file");
      f.lines = after;
    }
    f.reshaped ||= reshaped;
    this.put(f, newInode);
    return done;
  }

  /** Writes the model's bytes over the file: in place (the same inode), or through a temporary file renamed over it (a new one). */
  put(f: MFile, newInode: boolean) {
    const bytes = diskBytes(f);
    if (newInode) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}.tmp`);
      writeFileSync(tmp, bytes);
      renameSync(tmp, f.path);
    } else writeFileSync(f.path, bytes);
    this.changed(f);
  }

  /** Renames a file: a session to a new id (maybe into another project), a subagent's, a rollout (maybe to another day). */
  async renameFile(f: MFile) {
    const { rng } = this;
    let to: string;
    if (f.agent === "codex") to = join(this.C, "sessions", "2026", "03", `0${1 + rng.int(4)}`, `rollout-2026-03-0${1 + rng.int(4)}T12-00-00-${uuid(rng)}.jsonl`);
    else if (f.gen.sidechain) to = join(dirname(f.path), `agent-a${hex(rng, 7)}.jsonl`);
    else {
      const projects = [...new Set(this.live().filter((x) => x.agent === "claude").map(projectOf))];
      to = join(rng.chance(0.3) ? rng.pick(projects) : dirname(f.path), `${uuid(rng)}.jsonl`);
    }
    to = this.free(to);
    if (f.reshaped) await this.sync("a rename of a rewritten file");
    mkdirSync(dirname(to), { recursive: true });
    renameSync(f.path, to);
    this.note(`   ${this.rel(f.path)} -> ${this.rel(to)}`);
    f.path = to;
    f.moved = true;
  }

  /** Renames a project directory in the root (or a Codex day directory). False when there is none. */
  async renameDir(): Promise<boolean> {
    const { rng } = this;
    const live = this.live();
    const projects = [...new Set(live.filter((f) => f.agent === "claude").map(projectOf))].filter((p) => dirname(p) === join(this.A, "projects"));
    const days = [...new Set(live.filter((f) => f.agent === "codex").map((f) => dirname(f.path)))];
    let from: string, to: string;
    if (projects.length && (!days.length || rng.chance(0.7))) {
      from = rng.pick(projects);
      to = this.free(join(this.A, "projects", `-work-moved-${this.uid()}`));
    } else if (days.length) {
      from = rng.pick(days);
      to = this.free(join(this.C, "sessions", "2026", "04", `1${rng.int(10)}`));
    } else return false;
    if (this.under(from).some((f) => f.reshaped)) await this.sync("a rename of a directory with a rewritten file");
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
    this.moved(from, to);
    return true;
  }

  private under = (dir: string) => this.live().filter((f) => f.path.startsWith(dir + "/"));

  private moved(from: string, to: string) {
    this.note(`   ${this.rel(from)}/ -> ${this.rel(to)}/`);
    for (const f of this.under(from)) {
      f.path = to + f.path.slice(from.length);
      f.moved = true;
    }
  }

  /** A symlink to a file or a project, in the same root or a second one; or a project moved out of the root, a symlink left in its place. */
  async link(): Promise<boolean> {
    const { rng } = this;
    const claude = this.live().filter((f) => f.agent === "claude"), codex = this.live().filter((f) => f.agent === "codex");
    const v = rng.int(6);
    const link = (target: string, at: string) => {
      at = this.free(at);
      mkdirSync(dirname(at), { recursive: true });
      symlinkSync(target, at);
      this.note(`   ${this.rel(at)} -> ${this.rel(target)}`);
    };
    if (v === 5 || !claude.length) {
      if (!codex.length) return false;
      const f = rng.pick(codex), day = basename(dirname(f.path));
      if (rng.chance(0.4)) link(f.path, join(this.D, "sessions", "2026", "03", day, basename(f.path))); // the same rollout in a second root
      else if (rng.chance(0.5)) link(f.path, join(this.C, "sessions", "2026", "03", `0${1 + rng.int(4)}`, `rollout-2026-03-01T00-00-00-${uuid(rng)}.jsonl`));
      else link(dirname(f.path), join(this.D, "sessions", "2026", "03", day)); // its day, in a second root
      return true;
    }
    const f = rng.pick(claude), project = projectOf(f), name = basename(project);
    const inRoot = (p: string) => join(this.A, "projects", basename(p)); // a project as the root reaches it
    switch (v) {
      case 0: // the file again, under another name, in a project of the same root
        link(f.path, join(inRoot(projectOf(rng.pick(claude))), `${uuid(rng)}.jsonl`));
        break;
      case 1: // the file in a second root, at the same place
        link(f.path, join(this.B, "projects", name, relative(project, f.path)));
        break;
      case 2: // the project again, under another name, in the same root
        link(project, join(this.A, "projects", `${name}-alias`));
        break;
      case 3: // the project in a second root
        link(project, join(this.B, "projects", name));
        break;
      case 4: // the project moved out of the root, a symlink left in its place (only the symlink reaches it)
        if (dirname(project) !== join(this.A, "projects")) link(project, join(this.B, "projects", name));
        else {
          const out = this.free(join(this.OUT, name));
          if (this.under(project).some((f) => f.reshaped)) await this.sync("a move of a directory with a rewritten file");
          mkdirSync(this.OUT, { recursive: true });
          renameSync(project, out);
          symlinkSync(out, project);
          this.moved(project, out);
        }
        break;
    }
    return true;
  }

  // ---- index runs ----

  async index(tag: string, overlapRoots: boolean) {
    if (this.follower) stats.overlaps++;
    const r = await this.exec(["index", ...this.roots(overlapRoots)], tag);
    if (r.code !== 0) throw new Error(`${tag}: 'sluice index' exited ${r.code}: ${firstLine(r.stderr)}`);
    this.readAll();
    this.made = true;
  }

  /** An index run so that what the index last read of every file is known. */
  async sync(why: string) {
    stats.syncs++;
    await this.index(`sync before ${why}`, false);
  }

  /** Roots that overlap, sometimes, when that action is on. */
  maybeOverlap = () => ENABLED.includes("roots") && this.rng.chance(0.3);

  async overlap() {
    stats.overlaps++;
    const args = [this.roots(this.maybeOverlap()), this.roots(this.maybeOverlap())];
    const runs = await Promise.all(args.map((a, i) => this.exec(["index", ...a], `overlap ${i + 1}`)));
    for (const r of runs) if (r.code !== 0) throw new Error(`two index runs at once: one exited ${r.code}: ${firstLine(r.stderr)}`);
    this.readAll();
    this.made = true;
  }

  async killIndex() {
    const p = this.start(["index", ...this.roots(this.maybeOverlap())], "index, to be killed");
    await Bun.sleep(this.rng.int(120));
    p.proc.kill("SIGKILL");
    const r = await p.done;
    if (r.signal === "SIGKILL") {
      stats.indexKills++;
      this.mayReadAll();
    } else if (r.code === 0) this.readAll();
    else throw new Error(`'sluice index' (to be killed) exited ${r.code} first: ${firstLine(r.stderr)}`);
  }

  startFollower() {
    const args = ["index", "--follow", ...this.roots(this.maybeOverlap()), "--poll-ms", "100"];
    this.mayReadAll();
    this.follower = { p: this.start(args, "index --follow", false), window: 1 + this.rng.int(4) };
    this.followed = true;
  }

  /** Stops the follower at a random moment: kill -9, or SIGTERM (then it must exit 0, unless the signal came before it could catch it). */
  async stopFollower() {
    const { p } = this.follower!;
    this.follower = null;
    await Bun.sleep(this.rng.int(300));
    const term = this.rng.chance(0.3);
    p.proc.kill(term ? "SIGTERM" : "SIGKILL");
    this.watchdog(p.proc, `[index --follow, sent ${term ? "SIGTERM" : "SIGKILL"}]`);
    const r = await p.done;
    this.checkHangs();
    if (r.signal === null && r.code !== 0) throw new Error(`'index --follow' exited ${r.code}${term ? " on SIGTERM" : " by itself"}: ${firstLine(r.stderr)}`);
    if (term) stats.followerTerms++;
    else stats.followerKills++;
  }

  /**
   * vacuum --full alone, racing an index run, beside the follower, or with a follower started during
   * it: it may refuse beside a writer, never lose or double a row, and the writers carry on.
   */
  async vacuum() {
    const { rng } = this;
    stats.vacuums++;
    const beside = this.follower ? "follower" : !rng.chance(0.6) ? null : ENABLED.includes("follow") && rng.chance(0.3) ? "new follower" : "index";
    const v = this.exec(["vacuum", "--full", "--db", this.db], "vacuum --full");
    let x: Awaited<Proc["done"]> | null = null;
    if (beside === "index") {
      await Bun.sleep(rng.int(150));
      x = await this.exec(["index", ...this.roots(this.maybeOverlap())], "index racing vacuum --full");
    } else if (beside === "new follower") {
      await Bun.sleep(rng.int(120));
      this.startFollower();
    }
    const vr = await v;
    const problems: string[] = [];
    const said = vr.stderr.trim();
    // (before any index run, a follower may not have made the database yet)
    if (vr.code !== 0 && !(!this.made && /no database at|is an empty file/.test(said))) {
      stats.refusals++;
      if (!beside) problems.push(`vacuum --full failed with no other writer: ${firstLine(said)}`);
      else if (said.split("\n").length !== 1 || !/being written by|another connection (has|began using)|in use by/.test(said)) problems.push(`vacuum --full failed beside ${beside === "index" ? "an index run" : "the follower"}: ${firstLine(said)}`);
    }
    if (x && x.code === 0) this.readAll();
    else if (x) {
      stats.racedIndexFailures++;
      if (!/vacuum|run the same command again/.test(x.stderr)) problems.push(`an index run racing vacuum --full exited ${x.code}: ${firstLine(x.stderr)}`);
      this.mayReadAll();
    }
    try {
      if (this.made || existsSync(this.db)) this.checkOpens("after vacuum --full", this.made);
    } catch (err) {
      problems.push(`the database after vacuum --full: ${(err as Error).message}`);
    }
    if (problems.length) throw new Error(problems.join("\n"));
  }

  /** Any reader can open the database, and SQLite finds it whole. */
  checkOpens(when: string, indexed = true) {
    const d = openReader(this.db);
    try {
      const ok = (d.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
      if (ok !== "ok") throw new Error(`integrity_check ${when}: ${ok}`);
      if (indexed) d.query("SELECT count(*) FROM turns").get();
    } finally {
      d.close();
    }
  }

  // ---- the sequence ----

  pick(): Kind {
    const total = ENABLED.reduce((a, k) => a + WEIGHT[k], 0);
    let r = this.rng.next() * total;
    for (const k of ENABLED) if ((r -= WEIGHT[k]) < 0) return k;
    return "append";
  }

  /** One action; the follower, when it runs, counts it and may be stopped after it. */
  async step(i: number) {
    const hadFollower = this.follower !== null;
    const kind = await this.act(i === 0 ? "append" : this.pick(), i);
    this.checkHangs();
    this.done.push(kind);
    stats.actions[kind] = (stats.actions[kind] ?? 0) + 1;
    if (this.follower) {
      this.mayReadAll();
      await Bun.sleep(this.rng.int(60));
      if (hadFollower && --this.follower.window <= 0) await this.stopFollower();
    }
  }

  /** Does `kind`, or an append when there is nothing to do it to; returns what it did. */
  async act(kind: Kind, i: number): Promise<Kind> {
    const { rng } = this;
    const live = this.live();
    const needsFile = !["append", "partial", "index", "overlap", "roots", "follow", "kill", "vacuum", "rename-dir", "link"].includes(kind);
    if ((needsFile && !live.length) || (kind === "vacuum" && !this.made && !this.followed)) return this.act(kind === "vacuum" ? "index" : "append", i);
    this.current = `action ${i + 1} (${kind})`;
    this.note(`${i + 1}. ${kind}${this.follower ? " (the follower runs)" : ""}`);
    switch (kind) {
      case "append":
      case "partial":
        this.append(live.length && rng.chance(0.75) ? rng.pick(live) : this.newFile(), 1 + rng.int(3), kind === "partial");
        break;
      case "rewrite":
      case "replace": {
        const f = rng.pick(live);
        const how = await this.rewriteFile(f, kind === "rewrite" ? rng.pick(["fresh", "edit"] as const) : rng.pick(["fresh", "edit", "tail"] as const), kind === "replace");
        this.note(`   ${this.rel(f.path)} (file ${f.id}): ${how}, ${f.lines.length} lines${kind === "replace" ? ", a new inode" : ""}`);
        break;
      }
      case "rewrite-tail": {
        const f = rng.pick(live);
        while (f.partial || completeBytes(f).length < 6000) this.append(f, 2, false);
        if (rng.chance(0.7)) await this.sync("the tail rewrite"); // so that the index has read past the first 4 KiB
        await this.rewriteFile(f, "tail", false);
        this.note(`   ${this.rel(f.path)} (file ${f.id}): the first 4 KiB kept, ${f.lines.length} lines`);
        break;
      }
      case "rename":
        await this.renameFile(rng.pick(live));
        break;
      case "rename-dir":
        if (!(await this.renameDir())) return this.act("append", i);
        break;
      case "link":
        if (!(await this.link())) return this.act("append", i);
        break;
      case "delete": {
        const f = rng.pick(live);
        if (distinct(f.candidates).length > 1) await this.sync("a delete");
        rmSync(f.path);
        f.deleted = true;
        this.note(`   ${this.rel(f.path)} (file ${f.id}): deleted; ${f.candidates[0]!.length} bytes of it last read`);
        break;
      }
      case "index":
        await this.index("index", false);
        break;
      case "roots":
        await this.index("index, overlapping roots", true);
        break;
      case "overlap":
        await this.overlap();
        break;
      case "follow":
        if (this.follower) await this.stopFollower();
        else this.startFollower();
        break;
      case "kill":
        await this.killIndex();
        break;
      case "vacuum":
        await this.vacuum();
        break;
    }
    return kind;
  }

  /** The last index run, then the index against a fresh index of what is on disk and what was archived. */
  async finish() {
    this.current = "the end";
    this.note("end");
    if (this.follower) await this.stopFollower();
    await this.index("final index", false);
    for (const f of this.live()) if (!readFileSync(f.path).equals(diskBytes(f))) throw new Error(`the model is wrong: ${this.rel(f.path)} is not what it wrote`);
    const expected = await this.expected();
    const problems = compare(await this.snapshot(expected), await this.snapshot(this.db));
    problems.push(...(await this.archiveProblems()));
    this.checkHangs();
    if (problems.length) throw new Error(problems.join("\n"));
    this.checkOpens("at the end");
  }

  /**
   * The archive: `export --all` writes, for each file on disk, its bytes as they are (the final
   * run read them all, an unfinished last line too), whatever renames, rewrites, kills and
   * vacuums came before; and each deleted file's complete lines as a run last read them.
   */
  private async archiveProblems(): Promise<string[]> {
    const out = join(this.dir, "export");
    rmSync(out, { recursive: true, force: true });
    const r = await this.exec(["export", "--all", "--to", out, "--json", "--db", this.db], "export --all");
    if (r.code !== 0) return [`export --all exited ${r.code}: ${firstLine(r.stderr)}`];
    const exported = JSON.parse(r.stdout) as { files: Array<{ fileId: number; path: string; latest: boolean }>; missing: unknown[] };
    const d = openReader(this.db);
    const rows = d.query("SELECT id, path, dev, ino FROM agent_files").all() as Array<{ id: number; path: string; dev: number; ino: number }>;
    d.close();
    const problems: string[] = exported.missing.length ? [`export: ${exported.missing.length} files missing from the archive`] : [];
    const latest = new Map(exported.files.filter((f) => f.latest).map((f) => [f.fileId, readFileSync(f.path)]));
    for (const f of this.live()) {
      const st = statSync(f.path);
      // an inode the file system gave a new file after a delete has a row per file: the one at the
      // file's path, else (found through a symlink) the newest
      const same = rows.filter((row) => row.dev === st.dev && row.ino === st.ino).sort((a, b) => b.id - a.id);
      const row = same.find((r) => r.path === f.path) ?? same[0];
      const got = row && latest.get(row.id);
      if (!got) problems.push(`export: ${this.rel(f.path)} is not in the archive`);
      else if (!got.equals(readFileSync(f.path))) problems.push(`export: ${this.rel(f.path)} differs from the file (${got.length} bytes exported, ${diskBytes(f).length} on disk)`);
    }
    // a deleted file: its complete lines last read are among the archive's generations
    const all = exported.files.map((f) => readFileSync(f.path)).map((b) => b.subarray(0, b.lastIndexOf(10) + 1));
    for (const f of this.files.filter((x) => x.deleted && x.candidates.length === 1 && x.candidates[0]!.length)) {
      if (!all.some((b) => b.equals(f.candidates[0]!))) problems.push(`export: deleted file ${f.id}'s lines last read are in no exported file`);
    }
    return problems;
  }

  /** A fresh index of each file on disk once (its complete lines) and each deleted file's lines last read. */
  private async expected(): Promise<string> {
    const root = join(this.dir, "expected"), claude = join(root, "claude", "projects", "-expected"), codex = join(root, "codex", "sessions");
    mkdirSync(claude, { recursive: true });
    mkdirSync(codex, { recursive: true });
    for (const f of this.files) {
      const bytes = f.deleted ? f.candidates[0]! : completeBytes(f);
      const name = `${f.deleted ? "archived" : "file"}-${f.id}.jsonl`;
      if (bytes.length) writeFileSync(f.agent === "claude" ? join(claude, name) : join(codex, `rollout-${name}`), bytes);
    }
    const db = join(this.dir, "expected.db");
    const r = await this.exec(["index", "--claude", join(root, "claude"), "--codex", join(root, "codex"), "--db", db], "expected: a fresh index");
    if (r.code !== 0) throw new Error(`the fresh index of the expected files exited ${r.code}: ${firstLine(r.stderr)}`);
    return db;
  }

  /** What the index holds, by content. */
  private async snapshot(db: string): Promise<Snapshot> {
    const d = openReader(db);
    let s: Omit<Snapshot, "daily">;
    try {
      const rows = (sql: string) => (d.query(sql).values() as unknown[][]).map((r) => JSON.stringify(r)).sort();
      s = {
        totals: d.query(`SELECT count(*) AS turns, total(input_tokens) AS input, total(output_tokens) AS output, total(cache_read_tokens) AS cacheRead,
          total(cache_write_5m_tokens) AS cacheWrite5m, total(cache_write_1h_tokens) AS cacheWrite1h, total(reasoning_tokens) AS reasoning,
          (SELECT count(*) FROM invocations) AS invocations FROM turns`).get() as Record<string, number>,
        claude: rows("SELECT message_id, request_id, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens FROM turns WHERE message_id IS NOT NULL"),
        codex: rows("SELECT model, at, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens FROM turns WHERE message_id IS NULL"),
        invocations: rows("SELECT kind, name, tool_use_id FROM invocations"),
      };
    } finally {
      d.close();
    }
    const r = await this.exec(["report", "daily", "--json", "--tz", "UTC", "--db", db], "report daily");
    // a database whose every file was deleted before any run read it holds nothing to report
    if (r.code !== 0 && /has no deep index yet/.test(r.stderr)) return { ...s, daily: { daily: [], totals: {} } };
    if (r.code !== 0) throw new Error(`report daily exited ${r.code}: ${firstLine(r.stderr)}`);
    return { ...s, daily: roundCosts(JSON.parse(r.stdout)) };
  }

  async stop() {
    const all = [...this.running];
    for (const p of all) p.kill("SIGKILL");
    await Promise.all(all.map((p) => p.exited));
  }
}

/** How long a process's output may take to reach its end once the process ended. */
const PIPE_GRACE_MS = 10_000;

/**
 * What came through a pipe until its end; `open` when it had none PIPE_GRACE_MS after the process
 * ended (another process holding its write end), and the text is what came by then.
 */
async function pipeText(stream: ReadableStream<Uint8Array>, exited: Promise<unknown>): Promise<{ text: string; open: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let ended = false, open = false, timer: Timer | undefined;
  void exited.then(() => {
    if (!ended) timer = setTimeout(() => ((open = true), reader.cancel().catch(() => {})), PIPE_GRACE_MS);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
  } finally {
    ended = true;
    clearTimeout(timer);
  }
  return { text: Buffer.concat(chunks).toString(), open };
}

/** A process's threads as /proc shows them: name, state and what each waits in. */
function describeProcess(pid: number): string {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const read = (f: string) => { try { return readFileSync(f, "utf8").trim(); } catch { return "?"; } };
    const state = (t: string) => /^State:\s+(.*)$/m.exec(read(`/proc/${pid}/task/${t}/status`))?.[1] ?? "?";
    return tasks.map((t) => `${read(`/proc/${pid}/task/${t}/comm`)} ${state(t)} in ${read(`/proc/${pid}/task/${t}/wchan`)}`).join(", ");
  } catch (err) {
    return `no /proc entry (${(err as Error).message})`;
  }
}

/** The database's writer claims and ingester row, read without waiting for a lock. */
function describeClaims(db: string): string {
  if (!existsSync(db)) return "no database";
  try {
    const d = openReader(db);
    try {
      d.run("PRAGMA busy_timeout = 0");
      return `writers ${JSON.stringify(d.query("SELECT scope, role, pid, started_at FROM writers").all())}, ingester ${JSON.stringify(d.query("SELECT pid, mode FROM ingester").all())}`;
    } finally {
      d.close();
    }
  } catch (err) {
    return `the database could not be read: ${(err as Error).message}`;
  }
}

interface Snapshot {
  totals: Record<string, number>;
  claude: string[];
  codex: string[];
  invocations: string[];
  daily: { daily: Array<Record<string, unknown>>; totals: Record<string, unknown> };
}

/** Costs summed in another order differ in the last bits. */
function roundCosts(o: any): any {
  if (Array.isArray(o)) return o.map(roundCosts);
  if (!o || typeof o !== "object") return o;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" && /cost/i.test(k) ? Math.round(v * 1e6) / 1e6 : roundCosts(v)]));
}

function multisetDiff(want: string[], got: string[]): string | null {
  const left = new Map<string, number>();
  for (const w of want) left.set(w, (left.get(w) ?? 0) + 1);
  const extra: string[] = [];
  for (const g of got) {
    const n = left.get(g) ?? 0;
    if (n > 0) left.set(g, n - 1);
    else extra.push(g);
  }
  const missing = [...left].flatMap(([k, n]) => Array<string>(n).fill(k));
  if (!missing.length && !extra.length) return null;
  return `${missing.length} missing from the index, ${extra.length} extra in it${missing.length ? `; missing: ${missing.slice(0, 2).join(" ")}` : ""}${extra.length ? `; extra: ${extra.slice(0, 2).join(" ")}` : ""}`;
}

function compare(want: Snapshot, got: Snapshot): string[] {
  const out: string[] = [];
  if (JSON.stringify(want.totals) !== JSON.stringify(got.totals)) out.push(`totals: expected ${JSON.stringify(want.totals)}, the index has ${JSON.stringify(got.totals)}`);
  for (const k of ["claude", "codex", "invocations"] as const) {
    const d = multisetDiff(want[k], got[k]);
    if (d) out.push(`${k === "invocations" ? "invocations" : `${k} turns`}: ${d}`);
  }
  const days = (s: Snapshot) => new Map(s.daily.daily.map((d) => [String(d.date), JSON.stringify(d)]));
  const w = days(want), g = days(got);
  const differ = [...new Set([...w.keys(), ...g.keys()])].sort().filter((d) => w.get(d) !== g.get(d));
  const bothEmpty = !want.daily.daily.length && !got.daily.daily.length;
  if (differ.length || (!bothEmpty && JSON.stringify(want.daily.totals) !== JSON.stringify(got.daily.totals))) {
    const brief = (s: string | undefined) => (s ? JSON.stringify((({ inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens }) => ({ inputTokens, outputTokens, cacheCreationTokens, cacheReadTokens }))(JSON.parse(s))) : "none");
    out.push(`report daily: ${differ.length} days differ${differ.length ? `, e.g. ${differ[0]}: expected ${brief(w.get(differ[0]!))}, the index has ${brief(g.get(differ[0]!))}` : " (totals only)"}`);
  }
  return out;
}

// ---- the test ----

const tmp = tempDir("sluice-deep-model-");
let keptAny = false;
afterAll(() => KEEP || keptAny || tmp.cleanup());

interface Outcome {
  seed: number;
  kinds: Kind[];
  error: string | null;
  dir: string;
}

async function runSequence(seed: number): Promise<Outcome> {
  const dir = join(tmp.dir, `seq-${seed}`);
  mkdirSync(dir);
  const s = new Sequence(seed, dir);
  let error: string | null = null;
  try {
    for (let i = 0, steps = 5 + s.rng.int(8); i < steps; i++) await s.step(i);
    await s.finish();
  } catch (err) {
    const hung = s.hangs.length && !(err as Error).message.startsWith("hung: ") ? `\n(and hung: ${s.hangs.join("\n")})` : "";
    error = `${s.current}: ${(err as Error).message}${hung}`;
  } finally {
    await s.stop();
  }
  stats.sequences++;
  if (error || KEEP) {
    writeFileSync(join(dir, "actions.txt"), s.log.join("\n") + "\n");
    if (error) writeFileSync(join(dir, "failure.txt"), `${error}\n\nreplay: ${replay(seed)}\n`);
    keptAny ||= !!error;
  } else rmSync(dir, { recursive: true, force: true });
  return { seed, kinds: s.done as Kind[], error, dir };
}

const replay = (seed: number) => `SLUICE_DEEP_MODEL_ONLY=${seed}${env.SLUICE_DEEP_MODEL_ACTIONS ? ` SLUICE_DEEP_MODEL_ACTIONS=${env.SLUICE_DEEP_MODEL_ACTIONS}` : ""} bun test test/deep-index-model.test.ts`;

function summary(seconds: number, failures: Outcome[]): string {
  const by = Object.entries(stats.actions).sort(([a], [b]) => KINDS.indexOf(a as Kind) - KINDS.indexOf(b as Kind)).map(([k, n]) => `${k} ${n}`).join(", ");
  const total = Object.values(stats.actions).reduce((a, b) => a + b, 0);
  const lines = [
    `deep-index model: ${stats.sequences} sequences in ${seconds.toFixed(0)} s (${PARALLEL} at a time; actions: ${ENABLED.length === KINDS.length ? "all" : ENABLED.join(",")}), ${total} actions: ${by}`,
    `  kills: ${stats.indexKills} index runs killed with -9 mid-run, ${stats.followerKills} followers killed with -9, ${stats.followerTerms} stopped with SIGTERM`,
    `  overlapping index runs tried: ${stats.overlaps}; vacuum --full: ${stats.vacuums} attempts, ${stats.refusals} refused, ${stats.racedIndexFailures} index runs racing it gave up; syncs (an index run before a delete or a tail rewrite): ${stats.syncs}`,
    `  failed: ${failures.length}`,
  ];
  if (failures.length) {
    const inFailing: Record<string, number> = {};
    for (const f of failures) for (const k of new Set(f.kinds)) inFailing[k] = (inFailing[k] ?? 0) + 1;
    lines.push(`  actions in the failing sequences: ${Object.entries(inFailing).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }
  return lines.join("\n");
}

test.skipIf(SEQUENCES === 0 && ONLY === null)(`model-based deep index: ${ONLY !== null ? `seed ${ONLY}` : `${SEQUENCES} seeded sequences`} against dist/sluice`, async () => {
  const seeds = ONLY !== null ? [ONLY] : Array.from({ length: SEQUENCES }, (_, i) => FIRST_SEED + i);
  const failures: Outcome[] = [];
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) {
      const r = await runSequence(seeds[next++]!);
      if (!r.error) continue;
      failures.push(r);
      console.error(`sequence ${r.seed} failed (${r.kinds.join(", ")}):\n  ${r.error.replace(/\n/g, "\n  ")}\n  kept in ${r.dir}; replay: ${replay(r.seed)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, seeds.length) }, worker));
  console.log(summary((performance.now() - t0) / 1000, failures));
  expect(failures.map((f) => `seed ${f.seed}: ${f.error!.split("\n")[0]}`)).toEqual([]);
}, 3_600_000);
