// Codex rollouts (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl): {timestamp, type, payload} lines
// of the types session_meta, turn_context, response_item, event_msg and compacted.

import { num, str, type Sink, type Usage } from "./records";
import { canonicalTime } from "./timestamps";

/** What a rollout parser carries from one increment of a file to the next. */
export interface CodexState {
  model: string | null;
  /** The last cumulative total seen: a token_count event counts only when it advanced. */
  lastTotal: number;
  last: { input: number; cached: number; output: number; reasoning: number } | null;
}

export const newCodexState = (): CodexState => ({ model: null, lastTotal: 0, last: null });

const IGNORED_EVENTS = new Set(["agent_reasoning", "agent_message", "task_started", "task_complete", "turn_aborted", "exec_command_begin", "exec_command_end", "patch_apply_begin", "patch_apply_end", "agent_reasoning_raw_content", "context_compacted", "item_completed", "web_search_begin", "web_search_end", "mcp_tool_call_begin", "mcp_tool_call_end", "entered_review_mode", "exited_review_mode", "stream_error", "error", "warning", "plan_update"]);

export function parseCodexLine(o: any, offset: number, state: CodexState, sink: Sink) {
  const at = canonicalTime(o.timestamp); // null: the call keeps its tokens, dated by its neighbours
  const p = o.payload && typeof o.payload === "object" ? o.payload : {};
  switch (o.type) {
    case "session_meta":
      sink.meta({
        agentSessionId: str(p.id) ?? undefined, project: str(p.cwd) ?? undefined, toolVersion: str(p.cli_version) ?? undefined,
        gitBranch: str(p.git?.branch) ?? undefined, agentType: str(p.originator) ?? undefined,
      });
      if (p.model) state.model = str(p.model);
      break;
    case "turn_context":
      if (str(p.model)) state.model = str(p.model);
      if (str(p.cwd)) sink.meta({ project: str(p.cwd)! });
      break;
    case "compacted":
      sink.compaction();
      break;
    case "event_msg":
      if (p.type === "token_count") tokenCount(p.info, at, offset, state, sink);
      else if (p.type === "user_message") sink.userMessage(typeof p.message === "string" ? p.message : null);
      else if (!IGNORED_EVENTS.has(p.type)) sink.unknown(`event_msg:${p.type}`);
      break;
    case "response_item":
      if (p.type === "function_call" || p.type === "custom_tool_call") {
        const name = String(p.name ?? "unknown");
        sink.invocation({ kind: name.startsWith("mcp__") ? "mcp" : "tool", name, toolUseId: str(p.call_id), at, messageId: null, requestId: null, offset });
      } else if (p.type === "local_shell_call" || p.type === "web_search_call") {
        sink.invocation({ kind: "tool", name: p.type === "local_shell_call" ? "shell" : "web_search", toolUseId: str(p.call_id) ?? str(p.id), at, messageId: null, requestId: null, offset });
      } else if ((p.type === "function_call_output" || p.type === "custom_tool_call_output") && str(p.call_id)) {
        sink.toolResult(p.call_id, outputFailed(p.output));
      }
      break;
    default:
      sink.unknown(String(o.type));
      return;
  }
  sink.seen(at ?? undefined);
}

/** A function call's output says it failed: a non-zero exit code in its metadata. */
export function outputFailed(output: unknown): boolean {
  if (typeof output !== "string" || !output.startsWith("{")) return false;
  try {
    const code = JSON.parse(output)?.metadata?.exit_code;
    return typeof code === "number" && code !== 0;
  } catch {
    // A long output had its middle cut (trimmed-json.ts): the metadata is in the part kept at its
    // end. The output's own text has its quotes escaped, so this key is the metadata's.
    const at = output.lastIndexOf('"exit_code":');
    if (at < 0) return false;
    const code = /^"exit_code":\s*(-?\d+)/.exec(output.slice(at))?.[1];
    return code !== undefined && Number(code) !== 0;
  }
}

/**
 * Codex repeats its last token_count when nothing new was used, so only an event whose cumulative
 * total advanced is a model call; its usage is the advance of the totals (or last_token_usage
 * when the totals started over). Input counted here excludes the cached part.
 */
function tokenCount(info: any, at: string | null, offset: number, state: CodexState, sink: Sink) {
  if (!info || typeof info !== "object") return;
  const total = info.total_token_usage, lastUse = info.last_token_usage;
  if (!total || typeof total !== "object") return;
  const t = { input: num(total.input_tokens), cached: num(total.cached_input_tokens), output: num(total.output_tokens), reasoning: num(total.reasoning_output_tokens) };
  const sum = num(total.total_tokens) || t.input + t.output;
  if (sum <= state.lastTotal && state.last) return; // a repeat
  let d: typeof t;
  if (state.last && sum > state.lastTotal && t.input >= state.last.input && t.output >= state.last.output) {
    d = { input: t.input - state.last.input, cached: t.cached - state.last.cached, output: t.output - state.last.output, reasoning: t.reasoning - state.last.reasoning };
  } else if (lastUse && typeof lastUse === "object") {
    d = { input: num(lastUse.input_tokens), cached: num(lastUse.cached_input_tokens), output: num(lastUse.output_tokens), reasoning: num(lastUse.reasoning_output_tokens) };
  } else d = t;
  state.lastTotal = sum;
  state.last = t;
  const model = str(info.model) ?? state.model;
  const usage: Usage = { input: Math.max(0, d.input - d.cached), output: d.output, cacheRead: d.cached, cacheWrite5m: 0, cacheWrite1h: 0, reasoning: d.reasoning };
  sink.turn({ messageId: null, requestId: null, model, at, usage, serviceTier: null, stopReason: null, isSidechain: false, offset });
}
