// A deterministic, seeded generator of `sse_lines.jsonl` envelope lines with the spec's mix:
// about 2/3 Claude and 1/3 Codex flows with realistic event sequences for both APIs, a mean near
// 650 B a line with a tail up to 2 MB, escapes, non-ASCII text and (at a low rate) hostile lines.
//
//   bun bench/generate.ts --lines 3000000 --seed 1 --out /tmp/sse_lines.jsonl
//   bun bench/generate.ts --lines 1000 --hostile 0.5          # mostly hostile, for tests
//
// The same seed and options always give the same bytes.

import { openSync, writeSync, closeSync } from "node:fs";

export interface GenerateOptions {
  lines: number;
  seed?: number;
  /** Share of lines rewritten into a hostile but valid form (default 0.002). */
  hostile?: number;
  /** Share of lines that are invalid on purpose (default 0). */
  invalid?: number;
  /** Share of lines with a huge `line` value (default 1/20000); sizes 64 KB to `maxLineBytes`. */
  huge?: number;
  maxLineBytes?: number;
  /** First `round`/time offsets, so appended batches continue a file realistically. */
  startIndex?: number;
}

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const WORDS = [
  "the", "function", "returns", "a", "value", "with", "error", "handling", "file", "config", "test", "build",
  "déjà", "vu", "naïve", "日本語", "テスト", "中文", "Ärger", "😀", "🚀", "∑", "λ", "—", "\"quoted\"", "back\\slash",
  "tab\there", "new\nline", "<tag>", "a/b", "{json}", "[x]", "const", "let", "await", "import", "export", "=>",
];
const CWDS = ["/Users/dev/proj", "/home/ana/src/sluice", "/Users/dev/work/api-server", "/srv/app", "/home/ana/Документы/код"];
const TOOLS = ["Read", "Edit", "Bash", "Grep", "Glob", "Write", "mcp__github__create_issue", "Task"];
const CLAUDE_MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001"];
const CODEX_MODELS = ["gpt-5-codex", "gpt-5", "gpt-5.1-codex-max"];

function uuid(r: Rng): string {
  const h = () => r.int(0x10000).toString(16).padStart(4, "0");
  return `${h()}${h()}-${h()}-4${h().slice(1)}-${h()}-${h()}${h()}${h()}`;
}

function text(r: Rng, words: number): string {
  let s = "";
  for (let i = 0; i < words; i++) s += (i ? " " : "") + r.pick(WORDS);
  return s;
}

interface Flow {
  source: "claude" | "codex";
  sid: string;
  flowId: string;
  round: number;
  metadata: string;
  events: Array<[string, string]>; // [event name, SSE line]
  next: number;
}

function claudeEvents(r: Rng, model: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const data = (ev: string, obj: unknown) => {
    out.push([ev, `event: ${ev}`]);
    out.push([ev, "data: " + JSON.stringify(obj)]);
  };
  const msgId = "msg_01" + uuid(r).replace(/-/g, "").slice(0, 22);
  data("message_start", {
    type: "message_start",
    message: { id: msgId, type: "message", role: "assistant", content: [], model, stop_reason: null, stop_sequence: null,
      usage: { input_tokens: r.int(4000), cache_creation_input_tokens: r.int(20000), cache_read_input_tokens: r.int(90000), output_tokens: 1 } },
  });
  const blocks = 1 + r.int(3);
  let outTokens = 0;
  for (let i = 0; i < blocks; i++) {
    const kind = r.next();
    if (kind < 0.2) {
      data("content_block_start", { type: "content_block_start", index: i, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (let k = 2 + r.int(10); k > 0; k--) data("content_block_delta", { type: "content_block_delta", index: i, delta: { type: "thinking_delta", thinking: text(r, 30 + r.int(120)) } });
    } else if (kind < 0.5) {
      const tool = r.pick(TOOLS);
      data("content_block_start", { type: "content_block_start", index: i, content_block: { type: "tool_use", id: "toolu_01" + uuid(r).slice(0, 20), name: tool, input: {} } });
      const input = JSON.stringify({ file_path: r.pick(CWDS) + "/src/" + r.pick(WORDS) + ".ts", content: text(r, 40 + r.int(200)) });
      for (let at = 0; at < input.length; at += 200 + r.int(400)) data("content_block_delta", { type: "content_block_delta", index: i, delta: { type: "input_json_delta", partial_json: input.slice(at, at + 600) } });
    } else {
      data("content_block_start", { type: "content_block_start", index: i, content_block: { type: "text", text: "" } });
      for (let k = 3 + r.int(20); k > 0; k--) data("content_block_delta", { type: "content_block_delta", index: i, delta: { type: "text_delta", text: text(r, 24 + r.int(170)) } });
    }
    outTokens += 50 + r.int(800);
    data("content_block_stop", { type: "content_block_stop", index: i });
    if (r.chance(0.3)) data("ping", { type: "ping" });
  }
  data("message_delta", { type: "message_delta", delta: { stop_reason: r.pick(["end_turn", "tool_use", "max_tokens"]), stop_sequence: null }, usage: { output_tokens: outTokens } });
  data("message_stop", { type: "message_stop" });
  return out;
}

function codexEvents(r: Rng, model: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const data = (ev: string, obj: unknown) => {
    out.push([ev, `event: ${ev}`]);
    out.push([ev, "data: " + JSON.stringify(obj)]);
  };
  const id = "resp_" + uuid(r).replace(/-/g, "");
  data("response.created", { type: "response.created", response: { id, model, status: "in_progress", output: [] } });
  data("response.in_progress", { type: "response.in_progress", response: { id, status: "in_progress" } });
  const items = 1 + r.int(3);
  for (let i = 0; i < items; i++) {
    const itemId = "msg_" + uuid(r).replace(/-/g, "");
    if (r.chance(0.4)) {
      const args = JSON.stringify({ command: ["bash", "-lc", "rg -n " + r.pick(WORDS) + " " + r.pick(CWDS)], timeout_ms: 120000 });
      data("response.output_item.added", { type: "response.output_item.added", output_index: i, item: { id: itemId, type: "function_call", name: "shell", arguments: "" } });
      data("response.function_call_arguments.delta", { type: "response.function_call_arguments.delta", item_id: itemId, output_index: i, delta: args });
      data("response.output_item.done", { type: "response.output_item.done", output_index: i, item: { id: itemId, type: "function_call", name: "shell", arguments: args, call_id: "call_" + uuid(r).slice(0, 12) } });
    } else {
      data("response.output_item.added", { type: "response.output_item.added", output_index: i, item: { id: itemId, type: "message", role: "assistant", content: [] } });
      let full = "";
      for (let k = 3 + r.int(25); k > 0; k--) {
        const d = text(r, 20 + r.int(140));
        full += d;
        data("response.output_text.delta", { type: "response.output_text.delta", item_id: itemId, output_index: i, content_index: 0, delta: d });
      }
      data("response.output_item.done", { type: "response.output_item.done", output_index: i, item: { id: itemId, type: "message", role: "assistant", content: [{ type: "output_text", text: full.slice(0, 1500) }] } });
    }
  }
  const input = 2000 + r.int(60000);
  data("response.completed", {
    type: "response.completed",
    response: { id, status: "completed", usage: { input_tokens: input, input_tokens_details: { cached_tokens: r.int(input) }, output_tokens: 100 + r.int(3000), output_tokens_details: { reasoning_tokens: r.int(1000) }, total_tokens: input + 500 } },
  });
  return out;
}

/** Rewrites a valid envelope object into a hostile line that JSON.parse reads the same way. */
function hostileLine(r: Rng, o: Record<string, unknown>): string {
  const keys = Object.keys(o);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const sp = () => r.pick(["", " ", "  ", "\t", " \r\n ", "\n"]);
  const enc = (s: string) => {
    let j = JSON.stringify(s);
    // non-ASCII as \uXXXX escapes (astral characters become surrogate pairs), in either case
    if (r.chance(0.5)) j = j.replace(/[\u0080-\uffff]/g, (c) => { const h = "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"); return r.chance(0.5) ? h : h.toUpperCase().replace("\\U", "\\u"); });
    if (r.chance(0.3)) j = j.replace(/\//g, "\\/");
    return j;
  };
  const val = (v: unknown): string => (typeof v === "string" ? enc(v) : JSON.stringify(v));
  const parts: string[] = [];
  // nested objects that reuse the top-level keys, before the real ones
  if (r.chance(0.6)) parts.push(`"extra"${sp()}:${sp()}{"sid":"not-this-one","t":{"round":99},"line":"x\\"}","metadata":[1,{"pid":7}]}`);
  if (r.chance(0.3)) parts.push(`"arr":[${sp()}"flow_id",${sp()}{"event":null},[[[]]],-0.5e-3,true,false,null${sp()}]`);
  for (const k of keys) {
    const v = o[k];
    if (r.chance(0.15)) parts.push(`${enc(k)}${sp()}:${sp()}${JSON.stringify("decoy")}`); // duplicate key, the later one wins
    parts.push(`${r.chance(0.1) ? JSON.stringify(k).replace(/^"(.)/, (_, c: string) => '"\\u00' + c.charCodeAt(0).toString(16)) : JSON.stringify(k)}${sp()}:${sp()}${val(v)}`);
  }
  if (r.chance(0.2)) parts.push(`"tail"${sp()}:${sp()}"ends with backslash \\\\"`);
  return `${sp()}{${sp()}${parts.join(`${sp()},${sp()}`)}${sp()}}${sp()}`.replace(/\n/g, " ");
}

const INVALID = [
  "not json at all",
  '{"t":"2026-01-01T00:00:00.000Z","sid":"x"',
  '["an","array"]',
  '"just a string"',
  "42",
  "null",
  '{"sid":"bad \\x escape"}',
  '{"sid":"ctrl\u0001char"}',
  '{"round":01}',
  '{"a":1,}',
  '{"a" 1}',
  '{"a":[1,2}',
  "{} trailing",
];
const INVALID_BYTES = [
  Buffer.from([0x7b, 0x22, 0x73, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"sid":"\xff\xfe"}
  Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), // overlong '/'
  Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // UTF-8 encoded surrogate
  Buffer.from([0x7b, 0x7d, 0x00]), // NUL after an object
];

/**
 * Yields the file as Buffers of whole lines (each ending in "\n"), about `chunkBytes` each.
 */
export function* generate(opts: GenerateOptions, chunkBytes = 4 << 20): Generator<Buffer> {
  const r = new Rng(opts.seed ?? 1);
  const hostile = opts.hostile ?? 0.002;
  const invalid = opts.invalid ?? 0;
  const huge = opts.huge ?? 1 / 20000;
  const maxLine = opts.maxLineBytes ?? 2 << 20;
  const live: Flow[] = [];
  const sessions: Array<{ source: "claude" | "codex"; sid: string; round: number; pid: number; cwd: string; model: string }> = [];
  let parts: Buffer[] = [];
  let size = 0;
  let clock = Date.UTC(2026, 0, 24, 10, 0, 0) + (opts.startIndex ?? 0) * 37;
  for (let n = 0; n < opts.lines; n++) {
    // keep a handful of flows interleaved, as concurrent agents produce them
    while (live.length < 3) {
      if (sessions.length < 6 || r.chance(0.05)) {
        const source = r.chance(2 / 3) ? "claude" : "codex";
        sessions.push({ source, sid: uuid(r), round: 0, pid: 1000 + r.int(90000), cwd: r.pick(CWDS), model: source === "claude" ? r.pick(CLAUDE_MODELS) : r.pick(CODEX_MODELS) });
        if (sessions.length > 12) sessions.shift();
      }
      const s = r.pick(sessions);
      const turn = `turn_${String(s.round).padStart(4, "0")}`;
      live.push({
        source: s.source, sid: s.sid, flowId: "fl_" + uuid(r).slice(0, 13).replace("-", ""), round: s.round++,
        metadata: JSON.stringify(r.chance(0.1) ? { pid: s.pid, cwd: s.cwd, turn_id: turn, host: "mbp.local", extra: { pid: 0 } } : { pid: s.pid, cwd: s.cwd, turn_id: turn }),
        events: s.source === "claude" ? claudeEvents(r, s.model) : codexEvents(r, s.model),
        next: 0,
      });
    }
    const fi = r.next() < 0.8 ? 0 : r.int(live.length);
    const f = live[fi]!;
    const [event, sse] = f.events[f.next++]!;
    if (f.next >= f.events.length) live.splice(fi, 1);
    clock += r.int(40);
    let lineValue = sse;
    if (r.chance(huge)) {
      const want = 65536 + r.int(Math.max(1, maxLine - 65536 - 1024));
      let body = "";
      while (body.length < want) body += text(r, 200) + "\n";
      lineValue = "data: " + JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: body.slice(0, want) } });
    }
    const o: Record<string, unknown> = {
      t: new Date(clock).toISOString(), source: f.source, sid: f.sid, flow_id: f.flowId, round: f.round,
      event: sse.startsWith("event:") ? "" : event, metadata: f.metadata, line: lineValue,
    };
    let line: Buffer;
    if (invalid > 0 && r.chance(invalid)) {
      line = r.chance(0.7) ? Buffer.from(r.pick(INVALID)) : r.pick(INVALID_BYTES);
    } else if (hostile > 0 && r.chance(hostile)) {
      const k = r.next();
      if (k < 0.1) o.round = r.pick([2 ** 53 + 2, -1, 1.5, 1e300, "7", null, true]);
      else if (k < 0.2) delete o[r.pick(["t", "sid", "flow_id", "round", "event", "metadata"])];
      else if (k < 0.3) o.metadata = r.pick(["not json", "[1,2]", "{}", '{"pid":"12","cwd":null}', '{"pid":99999999999999999999}', "{\"pid\":1,\"pid\":2}"]);
      else if (k < 0.35) o.sid = r.pick([5, false, { nested: "obj" }, ["a"], "\ud83d\ude00 pair", "lone \ud800 high"]);
      line = Buffer.from(hostileLine(r, o));
    } else {
      line = Buffer.from(JSON.stringify(o));
    }
    if (r.chance(0.001)) line = Buffer.concat([line, Buffer.from("\r")]); // CRLF
    parts.push(line, NL);
    size += line.length + 1;
    if (r.chance(0.0005)) {
      parts.push(NL); // a blank line
      size++;
    }
    if (size >= chunkBytes) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size) yield Buffer.concat(parts, size);
}
const NL = Buffer.from("\n");

/** Hands out a generator's output a given number of whole non-blank lines at a time (for appenders). */
export class LineTaker {
  private pending: Buffer = Buffer.alloc(0);
  /** Non-blank lines handed out so far (the blank lines the generator adds ride along uncounted). */
  taken = 0;
  constructor(private readonly chunks: Generator<Buffer>) {}

  take(count: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < count) {
      if (this.pending.length === 0) {
        const next = this.chunks.next();
        if (next.done) break;
        this.pending = next.value;
      }
      let at = 0;
      while (have < count) {
        const nl = this.pending.indexOf(10, at);
        if (nl < 0) break;
        if (nl > at) have++;
        at = nl + 1;
      }
      parts.push(this.pending.subarray(0, at));
      this.pending = this.pending.subarray(at);
    }
    this.taken += have;
    return Buffer.concat(parts);
  }
}

/** Writes a generated file and returns its size in bytes. */
export function generateFile(path: string, opts: GenerateOptions, flags = "w"): number {
  const fd = openSync(path, flags);
  let bytes = 0;
  try {
    for (const chunk of generate(opts)) bytes += writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    options: {
      lines: { type: "string", default: "100000" }, seed: { type: "string", default: "1" }, out: { type: "string" },
      hostile: { type: "string" }, invalid: { type: "string" }, append: { type: "boolean", default: false },
    },
  });
  const opts: GenerateOptions = { lines: Number(values.lines), seed: Number(values.seed), hostile: values.hostile ? Number(values.hostile) : undefined, invalid: values.invalid ? Number(values.invalid) : undefined };
  if (values.out) {
    const t0 = performance.now();
    const bytes = generateFile(values.out, opts, values.append ? "a" : "w");
    console.error(`wrote ${opts.lines} lines, ${(bytes / 1e6).toFixed(1)} MB (mean ${(bytes / opts.lines).toFixed(0)} B) to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } else for (const chunk of generate(opts)) process.stdout.write(chunk);
}
