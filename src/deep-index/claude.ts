// Claude Code transcripts (~/.claude/projects/<encoded-cwd>/<session>.jsonl, versions 1.0.24 to
// 2.1.x): one JSON object per line, of many types; only some carry what the index wants.

import { num, str, type InvocationKind, type Sink } from "./records";
import { canonicalTime } from "./timestamps";

/** Line types that carry nothing for the index, but are known: not counted as unknown. */
const IGNORED = new Set(["file-history-snapshot", "queue-operation", "progress", "attachment", "permission-mode", "last-prompt", "custom-title", "tag", "agent-name", "pr-link", "summary-update"]);

export function claudeInvocationKind(name: string): InvocationKind {
  if (name.startsWith("mcp__")) return "mcp";
  if (name === "Task" || name === "Agent") return "subagent";
  if (name === "Skill") return "skill";
  return "tool";
}

/** Claude Code's own wrappers around what the user typed: a command, its output, caveats. */
const COMMAND = /<command-name>\s*([^<\s]+)\s*<\/command-name>/;

export function parseClaudeLine(o: any, offset: number, sink: Sink) {
  // Lines written by some tools (and ccusage's fixtures) carry a message but no type: its role says.
  const type = o.type ?? (o.message?.role === "assistant" || o.message?.usage ? "assistant" : o.message?.role === "user" ? "user" : undefined);
  const at = canonicalTime(o.timestamp); // null: the call keeps its tokens, dated by its neighbours
  switch (type) {
    case "summary":
      if (typeof o.summary === "string") sink.summary(o.summary);
      return;
    case "assistant":
    case "user":
    case "system":
      break;
    default:
      if (!IGNORED.has(type)) sink.unknown(String(type));
      return;
  }
  sink.meta({
    agentSessionId: str(o.sessionId) ?? undefined,
    project: str(o.cwd) ?? undefined,
    gitBranch: str(o.gitBranch) ?? undefined,
    toolVersion: str(o.version) ?? undefined,
    isSidechain: o.isSidechain === true ? true : undefined,
  });
  sink.seen(at ?? undefined);
  const msg = o.message;
  if (type === "system") {
    if (o.subtype === "compact_boundary") sink.compaction();
    return;
  }
  if (type === "assistant") {
    if (!msg || typeof msg !== "object") return;
    const messageId = str(msg.id), requestId = str(o.requestId);
    const u = msg.usage;
    const model = str(msg.model);
    if (u && typeof u === "object" && model !== "<synthetic>") {
      const write = num(u.cache_creation_input_tokens);
      const cc = u.cache_creation && typeof u.cache_creation === "object" ? u.cache_creation : null;
      const write1h = cc ? num(cc.ephemeral_1h_input_tokens) : 0;
      const write5m = cc ? num(cc.ephemeral_5m_input_tokens) + Math.max(0, write - num(cc.ephemeral_5m_input_tokens) - write1h) : write;
      sink.turn({
        messageId, requestId, model, at, offset,
        usage: { input: num(u.input_tokens), output: num(u.output_tokens), cacheRead: num(u.cache_read_input_tokens), cacheWrite5m: write5m, cacheWrite1h: write1h, reasoning: 0 },
        serviceTier: str(u.service_tier), stopReason: str(msg.stop_reason), isSidechain: o.isSidechain === true,
      });
    }
    if (Array.isArray(msg.content)) {
      for (const b of msg.content) {
        if (!b || b.type !== "tool_use" || typeof b.name !== "string") continue;
        const kind = claudeInvocationKind(b.name);
        const input = b.input && typeof b.input === "object" ? b.input : {};
        const name = kind === "skill" ? (str(input.skill) ?? str(input.command) ?? b.name) : kind === "subagent" ? (str(input.subagent_type) ?? b.name) : b.name;
        sink.invocation({ kind, name, toolUseId: str(b.id), at, messageId, requestId, offset });
      }
    }
    return;
  }
  // user
  const content = msg?.content;
  if (Array.isArray(content)) {
    let text: string | null = null;
    for (const b of content) {
      if (b?.type === "tool_result" && typeof b.tool_use_id === "string") sink.toolResult(b.tool_use_id, b.is_error === true);
      else if (b?.type === "text" && typeof b.text === "string") text ??= b.text;
    }
    if (text !== null) userText(text, o, at, offset, sink);
  } else if (typeof content === "string") userText(content, o, at, offset, sink);
}

function userText(text: string, o: any, at: string | null, offset: number, sink: Sink) {
  const cmd = COMMAND.exec(text);
  if (cmd) {
    sink.invocation({ kind: "slash_command", name: cmd[1]!, toolUseId: null, at, messageId: null, requestId: null, offset });
    return;
  }
  // Meta lines, compaction summaries and the outputs of local commands are not the user speaking.
  if (o.isMeta === true || o.isCompactSummary === true || /^\s*<(local-command-|bash-|command-|system-reminder)/.test(text)) return;
  sink.userMessage(text);
}
