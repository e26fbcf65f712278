// What the first lines of an input look like, so that the wrong input is said so rather than
// ingested silently: a Claude Code transcript or a Codex rollout (JSON objects, so they would make
// rows without a single envelope field) belongs to `sluice index`, and a raw SSE stream
// (`event:` / `data:` lines, all rejects) is what the capture proxy wraps, not what it writes.

import { readSync } from "node:fs";

/** How a line reads: an envelope line, or what else it looks like. */
export type LineKind = "envelope" | "claude" | "codex" | "sse" | "other";

/**
 * How many non-blank lines decide, and how many bytes of a file are read for them: a first read,
 * and a larger one when it held few lines (a transcript's lines can be a megabyte each).
 */
const SAMPLE_LINES = 200;
const SAMPLE_BYTES = [256 << 10, 4 << 20];
const FEW_LINES = 20;

/** Keys only an envelope line has at its top level (the spec's fields). */
const ENVELOPE_ONLY = ["flow_id", "sid", "line", "metadata"];
const ENVELOPE_ALSO = ["t", "source", "round", "event"];
/** Item types of a Codex rollout before it wrapped them in {timestamp, type, payload}. */
const CODEX_LEGACY = new Set(["message", "reasoning", "function_call", "function_call_output", "local_shell_call", "custom_tool_call", "custom_tool_call_output", "web_search_call"]);
const CLAUDE_ONLY = new Set(["summary", "file-history-snapshot", "queue-operation"]);

export function classifyLine(text: string): LineKind {
  if (/^(event|data):/.test(text)) return "sse";
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return "other";
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return "other";
  const r = o as Record<string, unknown>;
  if (ENVELOPE_ONLY.some((k) => k in r)) return "envelope";
  if (typeof r.sessionId === "string" || "leafUuid" in r || CLAUDE_ONLY.has(r.type as string)) return "claude";
  if ((typeof r.type === "string" && "payload" in r) || "record_type" in r || CODEX_LEGACY.has(r.type as string)) return "codex";
  return ENVELOPE_ALSO.some((k) => k in r) ? "envelope" : "other";
}

/** Counts of each kind over the first lines of an input. */
export class InputSample {
  readonly counts: Record<LineKind, number> = { envelope: 0, claude: 0, codex: 0, sse: 0, other: 0 };
  lines = 0;

  get full(): boolean {
    return this.lines >= SAMPLE_LINES;
  }

  /** Takes the complete lines of bytes[start, end) until the sample is full. */
  feed(bytes: Uint8Array, start: number, end: number) {
    let s = start;
    while (s < end && !this.full) {
      let nl = bytes.indexOf(10, s);
      if (nl < 0 || nl >= end) break;
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + s, nl - s).toString("utf8").replace(/^\uFEFF/, "").trimEnd();
      s = nl + 1;
      if (text.trim() === "") continue;
      this.counts[classifyLine(text)]++;
      this.lines++;
    }
  }

  /** What most of the lines look like when most are not envelope lines; null when they are envelope lines. */
  verdict(): Exclude<LineKind, "envelope"> | null {
    const wrong = this.lines - this.counts.envelope;
    if (this.lines === 0 || wrong * 2 <= this.lines) return null;
    const kinds = (["claude", "codex", "sse"] as const).filter((k) => this.counts[k] * 2 > wrong);
    return kinds[0] ?? "other";
  }
}

/** The first lines of a file from `start`. */
export function sampleFile(fd: number, start: number, size: number): InputSample {
  let sample = new InputSample();
  for (const bytes of SAMPLE_BYTES) {
    sample = new InputSample();
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(bytes, size - start)));
    const got = buf.length ? readSync(fd, buf, 0, buf.length, start) : 0;
    // a last line without a newline counts too when the whole rest of the file is in hand
    const whole = start + got >= size && got > 0 && buf[got - 1] !== 10;
    sample.feed(whole ? Buffer.concat([buf.subarray(0, got), Buffer.from("\n")]) : buf, 0, whole ? got + 1 : got);
    if (sample.lines >= FEW_LINES || start + got >= size) break;
  }
  return sample;
}

/**
 * One line that says what `name` looks like and which command it is meant for, or null for
 * envelope lines. `nothing`: no envelope line was ingested from it at all.
 */
export function wrongInputLine(sample: InputSample, name: string, nothing: boolean): string | null {
  const kind = sample.verdict();
  if (!kind) return null;
  const n = kind === "other" ? sample.lines - sample.counts.envelope : sample.counts[kind];
  const of = `${n} of its first ${sample.lines} lines`;
  const looks = nothing ? `nothing ingested from ${name}: it looks like` : `${name} looks mostly like`;
  const envelope = "the capture proxy's envelope lines (one JSON object per SSE line, see ../shared/spec/sse-envelope.md)";
  switch (kind) {
    case "claude":
      return `${looks} a Claude Code transcript (${of}), not ${envelope}; index transcripts with 'sluice index --claude DIR'`;
    case "codex":
      return `${looks} a Codex rollout (${of}), not ${envelope}; index rollouts with 'sluice index --codex DIR'`;
    case "sse":
      return `${looks} a raw SSE stream (${of} start with 'event:' or 'data:'); sluice ingests ${envelope}, not a raw stream`;
    default:
      return `${nothing ? `nothing ingested from ${name}` : name}: ${of} are not envelope lines (JSON objects with the fields t, source, sid, flow_id, round, event, metadata, line); sluice ingests ${envelope}`;
  }
}
