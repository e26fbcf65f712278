// The conversation in a line: user prompts, assistant text, tool calls and tool results, as rows of
// the messages table (and so of the search index). Runs where the file is parsed, on the object
// the index's parser made of the line (a long line's long strings are already cut to their head
// and tail there: a long tool output is searched by its head only; the archive keeps it whole).

import { maskSecrets } from "./mask";

/** A messages row as the writer's JSON insert reads it, slot by slot as Message names them. */
export type MessageRow = [number, number, string, string, string | null, string | null, string | null, string, number, string | null];

/** The slots of a MessageRow. */
export const enum Message { offset, part, kind, role, at, model, tool, text, length, toolUseId }

/**
 * A file's messages as they go from a parse thread to the writer: every string of every row joined
 * into one, and per row its numbers and where each of its strings is in it (-1: null). One string
 * and one transferred buffer cross between the threads, and the writer has no JSON to parse
 * (JSON.parse was 40% of the writer's time on the messages: docs/benchmarks.md).
 */
export interface PackedMessages {
  strings: string;
  /** ROW_SLOTS numbers a row: offset, part, length, then start and end of each of STRING_SLOTS' strings. */
  slots: Float64Array;
}

/** The slots of a row that hold strings, in the order they are packed. */
const STRING_SLOTS = [Message.kind, Message.role, Message.at, Message.model, Message.tool, Message.text, Message.toolUseId] as const;
const ROW_SLOTS = 3 + 2 * STRING_SLOTS.length;

export function packMessages(rows: MessageRow[]): PackedMessages {
  const slots = new Float64Array(rows.length * ROW_SLOTS);
  const parts: string[] = [];
  let at = 0, k = 0;
  for (const r of rows) {
    slots[k++] = r[Message.offset];
    slots[k++] = r[Message.part];
    slots[k++] = r[Message.length];
    for (const i of STRING_SLOTS) {
      const v = r[i] as string | null;
      if (v === null) {
        slots[k++] = -1;
        slots[k++] = -1;
        continue;
      }
      parts.push(v);
      slots[k++] = at;
      slots[k++] = at += v.length;
    }
  }
  return { strings: parts.join(""), slots };
}

export function unpackMessages(p: PackedMessages): MessageRow[] {
  const { strings, slots } = p;
  const rows: MessageRow[] = [];
  // string j of the row at k (one function for all rows: no closure made per row)
  const str = (k: number, j: number) => (slots[k + 3 + 2 * j]! < 0 ? null : strings.slice(slots[k + 3 + 2 * j], slots[k + 4 + 2 * j]));
  for (let k = 0; k < slots.length; k += ROW_SLOTS) {
    rows.push([slots[k]!, slots[k + 1]!, str(k, 0)!, str(k, 1)!, str(k, 2), str(k, 3), str(k, 4), str(k, 5)!, slots[k + 2]!, str(k, 6)]);
  }
  return rows;
}

/** Characters of a tool call's or result's text that are indexed. */
export const TOOL_HEAD = 2000;
/** Characters of a prompt's or an answer's text that are indexed. */
export const TEXT_HEAD = 32_000;

/** The inputs that say what a tool call did, in the order they are looked for. */
const SAYS = ["command", "cmd", "file_path", "path", "pattern", "url", "query", "prompt", "description", "skill", "subagent_type"];

export class MessageRecords {
  readonly rows: MessageRow[] = [];
  /** tool use id -> tool name, for the results that follow in the same read */
  private readonly toolNames = new Map<string, string>();
  private part = 0;
  private offset = -1;

  private add(offset: number, kind: string, role: string, at: string | null, model: string | null, tool: string | null, text: string, head: number, toolUseId: unknown = null) {
    if (offset !== this.offset) {
      this.offset = offset;
      this.part = 0;
    }
    const trimmed = text.trim();
    if (!trimmed && kind !== "compaction") return;
    const cut = trimmed.length > head ? trimmed.slice(0, head) : trimmed;
    this.rows.push([offset, this.part++, kind, role, at, model, tool, maskSecrets(cut), trimmed.length, typeof toolUseId === "string" ? toolUseId : null]);
  }

  claude(o: any, offset: number, at: string | null) {
    const msg = o.message;
    if (o.type === "summary" && typeof o.summary === "string") return this.add(offset, "summary", "system", at, null, null, o.summary, TEXT_HEAD);
    if (o.type === "system") {
      if (o.subtype === "compact_boundary") this.add(offset, "compaction", "system", at, null, null, "", 0);
      return;
    }
    if (!msg || typeof msg !== "object" || (o.type !== "user" && o.type !== "assistant")) return;
    const model = typeof msg.model === "string" && msg.model !== "<synthetic>" ? msg.model : null;
    const content = msg.content;
    if (typeof content === "string") return this.userText(o, offset, at, content);
    if (!Array.isArray(content)) return;
    for (const b of content) {
      if (!b || typeof b !== "object") continue;
      if (b.type === "text" && typeof b.text === "string") {
        if (o.type === "assistant") this.add(offset, "text", "assistant", at, model, null, b.text, TEXT_HEAD);
        else this.userText(o, offset, at, b.text);
      } else if (b.type === "tool_use" && typeof b.name === "string") {
        if (typeof b.id === "string") this.toolNames.set(b.id, b.name);
        this.add(offset, "tool_call", "tool", at, model, b.name, `${b.name}: ${callText(b.input)}`, TOOL_HEAD, b.id);
      } else if (b.type === "tool_result") {
        const tool = typeof b.tool_use_id === "string" ? (this.toolNames.get(b.tool_use_id) ?? null) : null;
        this.add(offset, "tool_result", "tool", at, null, tool, resultText(b.content), TOOL_HEAD, b.tool_use_id);
      }
    }
  }

  private userText(o: any, offset: number, at: string | null, text: string) {
    if (o.isCompactSummary === true) return this.add(offset, "compaction", "system", at, null, null, text, TEXT_HEAD);
    if (o.isMeta === true) return;
    this.add(offset, "prompt", "user", at, null, null, text, TEXT_HEAD);
  }

  codex(o: any, offset: number, at: string | null, model: string | null) {
    const p = o.payload && typeof o.payload === "object" ? o.payload : {};
    if (o.type === "compacted") return this.add(offset, "compaction", "system", at, null, null, typeof p.message === "string" ? p.message : "", TEXT_HEAD);
    if (o.type === "event_msg") {
      if (p.type === "user_message" && typeof p.message === "string") this.add(offset, "prompt", "user", at, null, null, p.message, TEXT_HEAD);
      return;
    }
    if (o.type !== "response_item") return;
    switch (p.type) {
      case "message":
        if (p.role === "assistant" && Array.isArray(p.content)) {
          for (const c of p.content) if (c && typeof c.text === "string") this.add(offset, "text", "assistant", at, model, null, c.text, TEXT_HEAD);
        }
        return;
      case "function_call":
      case "custom_tool_call": {
        const name = String(p.name ?? "unknown");
        if (typeof p.call_id === "string") this.toolNames.set(p.call_id, name);
        const args = typeof p.arguments === "string" ? parseArgs(p.arguments) : (p.input ?? p.arguments);
        return this.add(offset, "tool_call", "tool", at, model, name, `${name}: ${callText(args)}`, TOOL_HEAD, p.call_id);
      }
      case "local_shell_call":
        return this.add(offset, "tool_call", "tool", at, model, "shell", `shell: ${callText(p.action)}`, TOOL_HEAD, p.call_id);
      case "function_call_output":
      case "custom_tool_call_output": {
        const tool = typeof p.call_id === "string" ? (this.toolNames.get(p.call_id) ?? null) : null;
        return this.add(offset, "tool_result", "tool", at, null, tool, codexOutput(p.output), TOOL_HEAD, p.call_id);
      }
    }
  }
}

/** A call's input, as one line: the command, path or query it names, else its JSON. */
function callText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!input || typeof input !== "object") return "";
  for (const k of SAYS) {
    const v = (input as any)[k];
    if (typeof v === "string" && v) return v;
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join(" ");
  }
  return JSON.stringify(input);
}

function parseArgs(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** A tool result's content: a string, or text blocks. */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((c) => (c && typeof c.text === "string" ? c.text : "")).filter(Boolean).join("\n");
}

/** A Codex function output: plain text, or JSON with an `output` field. */
function codexOutput(output: unknown): string {
  if (typeof output !== "string") return resultText(output);
  if (output.startsWith("{")) {
    const o = parseArgs(output) as any;
    if (o && typeof o.output === "string") return o.output;
  }
  return output;
}
