// What the agent-log parsers find in a line, for the index writer: the parsers know the formats,
// the writer knows the tables, and these records are all that passes between them.

export interface Usage {
  /** Input tokens that were not read from the cache. */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  /** Reasoning tokens, a part of `output` where the API reports them. */
  reasoning: number;
}

export interface SessionMeta {
  agentSessionId?: string;
  project?: string;
  parentSession?: string;
  isSidechain?: boolean;
  agentType?: string;
  gitBranch?: string;
  toolVersion?: string;
}

export type InvocationKind = "tool" | "mcp" | "skill" | "subagent" | "slash_command";

/** Where a record came from: the byte offset of its line. */
export interface Sink {
  meta(m: SessionMeta): void;
  /** A line's time (canonical, timestamps.ts); undefined when it had none. */
  seen(at: string | undefined): void;
  /** `at` null: the line had no usable time, and the call is dated by its neighbours. */
  turn(t: { messageId: string | null; requestId: string | null; model: string | null; at: string | null; usage: Usage; serviceTier: string | null; stopReason: string | null; isSidechain: boolean; offset: number }): void;
  invocation(i: { kind: InvocationKind; name: string; toolUseId: string | null; at: string | null; messageId: string | null; requestId: string | null; offset: number }): void;
  toolResult(toolUseId: string, isError: boolean): void;
  userMessage(text: string | null): void;
  compaction(): void;
  summary(text: string): void;
  malformed(): void;
  unknown(type: string): void;
}

export const num = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);
export const str = (x: unknown): string | null => (typeof x === "string" && x.length ? x : null);
