// Hand-made Claude Code transcripts for the report tests: one assistant line per call, shaped as
// Claude Code 2.0 writes them, so that sluice and ccusage both read them as they read real logs.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Call {
  /** ISO time, or epoch milliseconds. */
  at: string | number;
  input?: number;
  output?: number;
  cacheWrite?: number;
  cacheRead?: number;
  model?: string;
}

let serial = 0;

/** The JSONL of one session's calls: a user line, then an assistant line per call (ids unique across files). */
export function transcript(sessionId: string, calls: Call[]): string {
  const lines = [JSON.stringify({ type: "user", sessionId, cwd: "/work/demo", version: "2.0.42", uuid: `u-${sessionId}`, timestamp: new Date(calls[0]!.at).toISOString(), message: { role: "user", content: "go" } })];
  for (const c of calls) {
    const n = ++serial;
    lines.push(JSON.stringify({
      parentUuid: null, isSidechain: false, userType: "external", cwd: "/work/demo", sessionId, version: "2.0.42", type: "assistant", uuid: `a-${sessionId}-${n}`,
      timestamp: new Date(c.at).toISOString(), requestId: `req_t${n}`,
      message: {
        model: c.model ?? "claude-sonnet-4-5-20250929", id: `msg_t${n}`, type: "message", role: "assistant", content: [{ type: "text", text: "ok" }],
        usage: { input_tokens: c.input ?? 0, output_tokens: c.output ?? 0, cache_creation_input_tokens: c.cacheWrite ?? 0, cache_read_input_tokens: c.cacheRead ?? 0 },
      },
    }));
  }
  return lines.join("\n") + "\n";
}

/** Writes sessions of calls under `configDir/projects/-work-demo/` (a Claude config dir, as CLAUDE_CONFIG_DIR names one). */
export function writeClaude(configDir: string, sessions: Record<string, Call[]>): string {
  const dir = join(configDir, "projects", "-work-demo");
  mkdirSync(dir, { recursive: true });
  for (const [id, calls] of Object.entries(sessions)) writeFileSync(join(dir, `${id}.jsonl`), transcript(id, calls));
  return configDir;
}
