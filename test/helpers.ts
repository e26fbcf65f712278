// Shared by the tests: run sluice as a real process, and compute what a file should yield.

import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { oracle } from "./differential";

export const ROOT = resolve(import.meta.dir, "..");
export const SHARED = resolve(ROOT, "..", "shared");

/** The two ways to run sluice that must behave the same: from source and the compiled binary. */
export const RUNNERS: Array<{ name: string; cmd: string[] }> = [
  { name: "bun src/main.ts", cmd: [process.execPath, join(ROOT, "src", "main.ts")] },
  { name: "dist/sluice", cmd: [join(ROOT, "dist", "sluice")] },
];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string[], args: string[], opts: { stdin?: Uint8Array | "ignore"; env?: Record<string, string> } = {}): Promise<RunResult> {
  const p = Bun.spawn([...cmd, ...args], {
    stdin: opts.stdin === undefined || opts.stdin === "ignore" ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

export function tempDir(prefix = "sluice-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A scratch directory for a test file, removed by `cleanup` (afterAll): `fresh(name)` is a new
 * path in it each call, `emptyDir()` a new empty directory (a named root that must exist).
 */
export function scratch(prefix: string) {
  const tmp = tempDir(prefix);
  let n = 0;
  const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
  const emptyDir = () => {
    const d = fresh("none");
    mkdirSync(d);
    return d;
  };
  return { tmp, fresh, emptyDir };
}

export interface ExpectedLine {
  offset: number;
  raw: Buffer;
  /** null when the line must be a reject */
  fields: Record<string, unknown> | null;
  reason?: string;
}

/**
 * What ingesting `bytes` must give, line by line, computed independently of sluice with
 * JSON.parse. `complete` says whether a last line without '\n' counts (non-follow mode).
 */
export function expectedLines(bytes: Buffer, from = 0): ExpectedLine[] {
  const out: ExpectedLine[] = [];
  let s = from;
  while (s < bytes.length) {
    let nl = bytes.indexOf(10, s);
    const last = nl < 0;
    if (last) nl = bytes.length;
    let e = nl;
    if (e > s && bytes[e - 1] === 13) e--;
    const raw = bytes.subarray(s, e);
    if (raw.length && !/^[ \t\r]*$/.test(raw.toString("latin1"))) {
      const want = oracle(raw);
      if (typeof want === "string") {
        if (!last) out.push({ offset: s, raw, fields: null, reason: want });
      } else out.push({ offset: s, raw, fields: want });
    }
    s = nl + 1;
  }
  return out;
}

/**
 * A read-only connection that waits for locks as any reader of a live database should: a reader
 * can find the database locked for a moment while sluice opens, closes or hands over its own
 * connection (the last connection to close folds the WAL in).
 */
export function openReader(dbPath: string): Database {
  const db = new Database(dbPath, { readonly: true });
  db.run("PRAGMA busy_timeout = 5000");
  return db;
}

/** Rows in the database, in file order: [byte_offset, raw]. */
export function rowsOf(dbPath: string, fileId?: number): Array<{ byte_offset: number; raw: string; file_id: number }> {
  const db = openReader(dbPath);
  try {
    const where = fileId === undefined ? "" : `WHERE file_id = ${fileId}`;
    return db.query(`SELECT file_id, byte_offset, raw FROM sse_lines ${where} ORDER BY file_id, byte_offset`).all() as any;
  } finally {
    db.close();
  }
}

export function query<T = any>(dbPath: string, sql: string, ...params: any[]): T[] {
  const db = openReader(dbPath);
  try {
    return db.query(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Asserts every valid line of the file is in the database exactly once, byte for byte. */
export function checkExactlyOnce(dbPath: string, file: Buffer, fileId?: number): { rows: number; rejects: number } {
  const want = expectedLines(file);
  const good = want.filter((l) => l.fields);
  const got = rowsOf(dbPath, fileId);
  const problems: string[] = [];
  if (got.length !== good.length) problems.push(`rows: ${got.length}, lines: ${good.length}`);
  const n = Math.min(got.length, good.length);
  for (let i = 0; i < n && problems.length < 5; i++) {
    const g = got[i]!, w = good[i]!;
    if (g.byte_offset !== w.offset || Buffer.compare(Buffer.from(g.raw, "utf8"), w.raw) !== 0) problems.push(`row ${i}: offset ${g.byte_offset} vs line at ${w.offset}`);
  }
  if (problems.length) throw new Error(`not exactly once: ${problems.join("; ")}`);
  return { rows: got.length, rejects: want.length - good.length };
}

export function readBytes(path: string): Buffer {
  return readFileSync(path);
}

/** A sluice process started in the background, with its stderr collected as it comes. */
export interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  stderr: () => string;
  exited: Promise<number>;
}

export function start(cmd: string[], args: string[], opts: { stdin?: "pipe" | "ignore"; env?: Record<string, string> } = {}): Running {
  const proc = Bun.spawn([...cmd, ...args], { stdin: opts.stdin ?? "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...opts.env } });
  let text = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk);
  })();
  return { proc, stderr: () => text, exited: proc.exited };
}

/** Polls `cond` every 50 ms until it holds; throws with `what` after `ms`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {}
    if (performance.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await Bun.sleep(50);
  }
}

/** A file's permission bits (databases and backups must be 0600). */
export const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Reads one value with a fresh read-only connection, as any other reader would (WAL allows it). */
export function one<T = any>(dbPath: string, sql: string, ...params: any[]): T | undefined {
  return query<T>(dbPath, sql, ...params)[0];
}
