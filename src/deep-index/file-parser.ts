// The parsing half of an index run: one agent log file's complete lines, from an offset, made into
// the rows the index writer stores. It touches no database, so a large run parses in worker threads
// (parse-worker.ts) while the main thread writes.

import { readSync } from "node:fs";
import { Chunker, type ArchivedBytes, type ArchiveJob } from "../archive/chunks";
import { MessageRecords, packMessages } from "../archive/messages";
import { parseClaudeLine } from "./claude";
import { newCodexState, parseCodexLine, type CodexState } from "./codex";
import type { Agent } from "./discover";
import type { SessionMeta, Sink } from "./records";
import { canonicalTime, UNDATED } from "./timestamps";
import { parseLine } from "./trimmed-json";

/**
 * A turns row as the writer binds it, slot by slot as Turn names them. A tuple rather than an
 * object: the rows cross from the parse threads as JSON and are bound by position, and the writer's
 * SQL reads the same slots out of that JSON (`j.value ->> ${Turn.messageId}`). The bundler inlines
 * the slot numbers, so naming them costs nothing.
 */
export type TurnRow = [number, string | null, string | null, string | null, string, number, number, number, number, number, number, number, string | null, string | null, 0 | 1, number];

/** The slots of a TurnRow. */
export const enum Turn { seq, messageId, requestId, model, at, input, output, cacheRead, cacheWrite5m, cacheWrite1h, reasoning, total, serviceTier, stopReason, sidechain, offset }

/** An invocations row as the writer's JSON insert reads it, slot by slot as Invocation names them. */
export type InvocationRow = [string | null, string | null, string | null, string, string, string | null, number];

/** The slots of an InvocationRow. */
export const enum Invocation { messageId, requestId, at, kind, name, toolUseId, offset }

/** A tool result as the writer's JSON update reads it: the tool use id, and 1 if the result said it failed. */
export type ResultRow = [string, 0 | 1];

/** The slots of a ResultRow. */
export const enum Result { toolUseId, failed }

/** What one file says about its session, written once per file. */
export interface SessionFacts {
  meta: SessionMeta;
  firstAt: string | null;
  lastAt: string | null;
  userMessages: number;
  compactions: number;
  firstPrompt: string | null;
  lastSummary: string | null;
}

export interface ParsedFile {
  /** Just past the last complete line read. */
  indexedTo: number;
  lines: number;
  malformed: number;
  unknown: number;
  /** What the parser carries to the next increment (JSON). */
  state: string;
  turns: TurnRow[];
  /**
   * InvocationRows, and [tool use id, 1 if a result said it failed] pairs, as the JSON the writer
   * binds: made here, in the parse thread, and a string crosses threads as one copy.
   */
  invocationsJson: string | null;
  resultsJson: string | null;
  /** Null when no complete line was read past an earlier increment: nothing to write. */
  session: SessionFacts | null;
  /**
   * The time of the first dated line of this increment, when an earlier increment left calls
   * UNDATED at the end of the file: the writer dates them with it, as a whole-file read would.
   */
  datesEarlier: string | null;
  /** The file's bytes for the archive, compressed here (null when the run does not archive). */
  archive: ArchivedBytes | null;
}

export interface ParseJob {
  /** Open in the caller's thread; worker threads share the process's descriptors. */
  fd: number;
  agent: Agent;
  from: number;
  size: number;
  state: string | null;
  /** Archive the bytes read (and any the archive lacks before `from`): see archive/chunks.ts. */
  archive?: ArchiveJob | null;
}

const LF = 10;
/**
 * Files are read through one buffer of this size per thread, reused: a fresh buffer per file cost
 * the kernel a page fault and a zeroed page for every 4 KiB read (a fifth of a first index's CPU
 * time was system time). It grows for a line longer than itself, and shrinks back after the file.
 */
const READ_BUFFER_BYTES = 2 << 20;
let readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** Parses the complete lines in [from, size) of the file. */
export function parseFile(job: ParseJob): ParsedFile {
  const carried: CarriedState = job.state ? JSON.parse(job.state) : {};
  const codex: CodexState = carried.codex ?? newCodexState();
  const records = new FileRecords(carried);
  let lines = 0;
  // readBuffer[0, held) is the file from byte `base`, which is just past the last complete line parsed
  let buf = readBuffer, base = job.from, held = 0;
  const chunker = job.archive ? new Chunker(job.archive) : null;
  const messages = job.archive ? new MessageRecords() : null;
  // the lines an earlier run indexed without archiving: read for the archive and the messages only
  if (chunker && job.archive!.from < job.from) buf = readEarlier(job, buf, chunker, messages!, codex) as typeof buf;
  while (base + held < job.size) {
    if (held === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
      buf.copy(bigger, 0, 0, held);
      buf = bigger;
    }
    const n = readSync(job.fd, buf, held, Math.min(buf.length - held, job.size - base - held), base + held);
    if (n === 0) break; // the file shrank since it was planned: what was read is what there is
    held += n;
    const end = buf.lastIndexOf(LF, held - 1) + 1; // only complete lines
    for (let s = 0; s < end; ) {
      const nl = buf.indexOf(LF, s);
      if (nl > s) {
        lines++;
        const o: any = parseLine(buf, s, nl);
        if (o === null || typeof o !== "object" || Array.isArray(o)) {
          if (buf.subarray(s, nl).toString("latin1").trim() !== "") records.malformed();
          else lines--;
        } else {
          if (job.agent === "claude") parseClaudeLine(o, base + s, records);
          else parseCodexLine(o, base + s, codex, records);
          if (messages) lineMessages(messages, job.agent, o, base + s, codex);
        }
      }
      s = nl + 1;
    }
    chunker?.add(buf, 0, end);
    buf.copy(buf, 0, end, held);
    base += end;
    held -= end;
  }
  const archive = chunker ? chunker.finish(base, buf.subarray(0, held)) : null;
  if (archive && messages!.rows.length) archive.messages = packMessages(messages!.rows);
  readBuffer = buf.length > READ_BUFFER_BYTES ? Buffer.allocUnsafe(READ_BUFFER_BYTES) : buf;
  const read = base - job.from;
  return {
    indexedTo: base, lines, malformed: records.malformedLines, unknown: records.unknownLines,
    state: JSON.stringify({ ...records.carry(), ...(job.agent === "codex" ? { codex } : {}) } satisfies CarriedState),
    turns: [...records.calls.values(), ...records.unkeyed],
    invocationsJson: records.invocations.length ? JSON.stringify(records.invocations) : null,
    resultsJson: records.results.size ? JSON.stringify([...records.results].map(([id, failed]): ResultRow => [id, failed ? 1 : 0])) : null,
    session: read > 0 || job.from === 0 ? records.facts() : null,
    datesEarlier: records.datesEarlier,
    archive,
  };
}

/** The messages of one line (archive/messages.ts), with its time as the index reads it. */
function lineMessages(messages: MessageRecords, agent: Agent, o: any, offset: number, codex: CodexState) {
  const at = canonicalTime(o.timestamp);
  if (agent === "claude") messages.claude(o, offset, at);
  else messages.codex(o, offset, at, codex.model);
}

/**
 * Reads [archive.from, job.from): lines an earlier run indexed without archiving (their counts are
 * in the index already), into the archive and the messages. Returns the buffer (grown for a long line).
 */
function readEarlier(job: ParseJob, buf: Buffer, chunker: Chunker, messages: MessageRecords, codex: CodexState): Buffer {
  let base = job.archive!.from, held = 0;
  while (base + held < job.from) {
    if (held === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, held);
      buf = bigger;
    }
    const n = readSync(job.fd, buf, held, Math.min(buf.length - held, job.from - base - held), base + held);
    if (n === 0) break;
    held += n;
    // job.from is a line's start: what is read up to it is whole lines
    const end = base + held === job.from ? held : buf.lastIndexOf(LF, held - 1) + 1;
    for (let s = 0; s < end; ) {
      let nl = buf.indexOf(LF, s);
      if (nl < 0 || nl >= end) nl = end;
      const o: any = nl > s ? parseLine(buf, s, nl) : null;
      if (o !== null && typeof o === "object" && !Array.isArray(o)) lineMessages(messages, job.agent, o, base + s, codex);
      s = nl + 1;
    }
    chunker.add(buf, 0, end);
    buf.copy(buf, 0, end, held);
    base += end;
    held -= end;
  }
  return buf;
}

/** What one increment of a file leaves for the next (agent_files.state). */
interface CarriedState {
  /** The next call's sequence number in its session. */
  seq?: number;
  /** The time of the last dated line read. */
  at?: string | null;
  /** True when calls at the end of what was read are still UNDATED, waiting for a dated line. */
  undated?: boolean;
  codex?: CodexState;
}

/** Gathers one file's records: each call settled in memory, tool uses, results and session facts. */
class FileRecords implements Sink {
  private metaSeen: SessionMeta = {};
  private firstAt: string | null = null;
  private lastAt: string | null = null;
  private userMessages = 0;
  private compactions = 0;
  private firstPrompt: string | null = null;
  private lastSummary: string | null = null;
  malformedLines = 0;
  unknownLines = 0;
  /** The file's calls, one per (message id, request id): the line that counts. */
  readonly calls = new Map<string, TurnRow>();
  /** Calls without a message id (Codex): each line is a call of its own. */
  readonly unkeyed: TurnRow[] = [];
  readonly invocations: InvocationRow[] = [];
  /** tool use id -> whether a result said it failed */
  readonly results = new Map<string, boolean>();
  seq: number;
  /** The time of the last dated line: a call on an undated line is dated with it. */
  private lineAt: string | null;
  /** Calls read before any dated line, waiting for the first one's time. */
  private waiting: TurnRow[] = [];
  /** An earlier increment left calls waiting; the first dated line of this one is theirs. */
  private earlierWaiting: boolean;
  datesEarlier: string | null = null;

  constructor(carried: CarriedState) {
    this.seq = carried.seq ?? 0;
    this.lineAt = carried.at ?? null;
    this.earlierWaiting = carried.undated === true;
  }

  carry(): CarriedState {
    return { seq: this.seq, at: this.lineAt, undated: this.earlierWaiting || this.waiting.length > 0 };
  }

  /** A call's time: its line's, else the last dated line's, else it waits for the next one. */
  private timeFor(at: string | null, row: TurnRow): string {
    const t = at ?? this.lineAt;
    if (t !== null) return t;
    this.waiting.push(row);
    return UNDATED;
  }

  facts(): SessionFacts {
    const { metaSeen: meta, firstAt, lastAt, userMessages, compactions, firstPrompt, lastSummary } = this;
    return { meta, firstAt, lastAt, userMessages, compactions, firstPrompt, lastSummary };
  }

  meta(m: SessionMeta) {
    const s = this.metaSeen;
    for (const k of Object.keys(m) as Array<keyof SessionMeta>) {
      const v = m[k];
      if (v === undefined) continue;
      // the first id, project and type; the latest branch and version
      if (k === "gitBranch" || k === "toolVersion" || s[k] === undefined) (s as any)[k] = v;
    }
  }
  seen(at: string | undefined) {
    if (!at) return;
    this.lineAt = at;
    if (this.earlierWaiting) {
      this.datesEarlier = at;
      this.earlierWaiting = false;
    }
    if (this.waiting.length) {
      for (const row of this.waiting) row[Turn.at] = at;
      this.waiting = [];
    }
    if (this.firstAt === null || at < this.firstAt) this.firstAt = at;
    if (this.lastAt === null || at > this.lastAt) this.lastAt = at;
  }
  turn(t: Parameters<Sink["turn"]>[0]) {
    const u = t.usage;
    const requestId = requestKey(t.messageId, t.requestId);
    const total = u.input + u.output + u.cacheRead + u.cacheWrite5m + u.cacheWrite1h;
    const side = t.isSidechain ? 1 : 0;
    const row: TurnRow = [this.seq++, t.messageId, requestId, t.model, UNDATED, u.input, u.output, u.cacheRead, u.cacheWrite5m, u.cacheWrite1h,
      u.reasoning, total, t.serviceTier, t.stopReason, side, t.offset];
    row[Turn.at] = this.timeFor(t.at, row);
    if (t.messageId === null) {
      this.unkeyed.push(row);
      return;
    }
    const key = `${t.messageId}\n${requestId}`;
    const prev = this.calls.get(key);
    // the rule of the writer's upsert, so the file's winner is the one the database would keep
    if (!prev || side < prev[Turn.sidechain] || (side === prev[Turn.sidechain] && total > prev[Turn.total])) {
      if (prev && row[Turn.stopReason] === null) row[Turn.stopReason] = prev[Turn.stopReason]; // a stop reason, once seen, stays
      this.calls.set(key, row);
    }
  }
  invocation(i: Parameters<Sink["invocation"]>[0]) {
    const row: InvocationRow = [i.messageId, requestKey(i.messageId, i.requestId), null, i.kind, i.name, i.toolUseId, i.offset];
    row[Invocation.at] = i.at ?? this.lineAt; // a tool use's time is for show: it does not wait
    this.invocations.push(row);
  }
  toolResult(toolUseId: string, isError: boolean) {
    this.results.set(toolUseId, isError || this.results.get(toolUseId) === true);
  }
  userMessage(text: string | null) {
    this.userMessages++;
    if (this.firstPrompt === null && text) this.firstPrompt = text.trim().slice(0, 200);
  }
  compaction() {
    this.compactions++;
  }
  summary(text: string) {
    this.lastSummary = text;
  }
  malformed() {
    this.malformedLines++;
  }
  unknown(_type: string) {
    this.unknownLines++;
  }
}

/**
 * Without a request id (older versions) the message id alone identifies the call: '' keeps the
 * unique key working, where NULL would make every content-block line a call of its own.
 */
function requestKey(messageId: string | null, requestId: string | null): string | null {
  return messageId && !requestId ? "" : requestId;
}
