// A follower's status line: on a terminal (a pseudo-terminal from util-linux's `script`) one line
// kept current in place, with the rate, bytes behind, last commit and RSS (the index follower: files
// watched, sessions and turns indexed, last commit and RSS), and log messages never
// written into the middle of it; off a terminal the same figures logged once a minute
// (SLUICE_STATUS_INTERVAL_MS shortens the minute here).

import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile } from "../bench/generate";
import { one, RUNNERS, start, tempDir, waitFor } from "./helpers";
import { transcript, writeClaude } from "./transcripts";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-status-line-");
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name: string) => join(tmp.dir, `${++n}-${name}`);
const FIGURES = /[\d,]+ lines\/s · [\d.]+ [KMG]?B behind · commit (\d+ s ago|never) · RSS \d+ MB · [\d,]+ lines since start/;

/** Runs `words` under a pseudo-terminal of `cols` columns until `until` holds of its output; then SIGINT. */
async function onTerminal(words: string[], cols: number, until: (out: string) => boolean, env: Record<string, string> = {}): Promise<string> {
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const proc = Bun.spawn(["script", "-qfec", `stty cols ${cols} rows 40; exec ${quoted}`, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "pipe", env: { ...process.env, NO_COLOR: "1", ...env } });
  let out = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += decoder.decode(chunk);
  })();
  try {
    await waitFor("the status line", () => until(out), 20_000);
  } finally {
    proc.kill("SIGINT");
    await proc.exited;
    await reading;
  }
  return out;
}

describe("ingest --follow", () => {
  test("on a terminal: one line redrawn in place, no wider than the terminal; a log message clears it first", async () => {
    const file = fresh("capture.jsonl"), db = fresh("a.db");
    generateFile(file, { lines: 500, seed: 1 });
    let appended = false, hup = false;
    const out = await onTerminal([...BIN, "ingest", file, "--follow", "--db", db, "--poll-ms", "100"], 100, (o) => {
      const draws = o.split("\r\x1b[K").filter((d) => FIGURES.test(d)).length;
      if (draws >= 2 && !appended) {
        appendFileSync(file, Buffer.concat([...generate({ lines: 300, seed: 2, startIndex: 500 })]));
        appended = true;
      }
      // a log message while the line is shown: SIGHUP makes the tail say it reopens the file
      if (appended && !hup && /[1-9][\d,]* lines since start/.test(o)) {
        process.kill(one(db, "SELECT pid FROM ingester").pid, "SIGHUP");
        hup = true;
      }
      return hup && FIGURES.test(o.slice(o.indexOf("SIGHUP")));
    });
    const draws = out.split("\r\x1b[K").map((d) => d.replace(/\r?\n$/, ""));
    const status = draws.filter((d) => FIGURES.test(d));
    expect(status.length).toBeGreaterThanOrEqual(4);
    // each draw is one line no wider than the terminal, and every log line starts on a clean line
    for (const d of status) {
      expect(d).not.toContain("\n");
      expect([...d].length).toBeLessThan(100);
    }
    const logged = out.split(/\r?\n/).filter((line) => /\[info\]/.test(line));
    expect(logged.some((line) => line.includes("SIGHUP"))).toBe(true);
    for (const line of logged) expect(line.replace(/^[\s\S]*\r\x1b\[K/, "")).toMatch(/^\[info\]/);
    expect(status.some((d) => /\b300 lines since start/.test(d))).toBe(true);
    expect(status.at(-1)).toMatch(/^capture\.jsonl|^\d+-capture\.jsonl/);
  }, 40_000);

  test("off a terminal: the same figures as a log line at each interval, not a line a second", async () => {
    const file = fresh("capture.jsonl"), db = fresh("b.db");
    generateFile(file, { lines: 200, seed: 3 });
    const s = start(BIN, ["ingest", file, "--follow", "--db", db, "--poll-ms", "100"], { env: { SLUICE_STATUS_INTERVAL_MS: "1500" } });
    try {
      await waitFor("the live tail", () => one(db, "SELECT mode FROM ingester")?.mode === "live");
      await waitFor("two status lines", () => s.stderr().split("\n").filter((l) => FIGURES.test(l)).length >= 2, 10_000);
      const lines = s.stderr().split("\n").filter((l) => FIGURES.test(l));
      for (const l of lines) expect(l).toMatch(/^\[info\] \d+-capture\.jsonl: /);
      expect(s.stderr()).not.toContain("\x1b[K");
    } finally {
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    }
    // at 1.5 s an interval, about 3.3 s of following gives two lines, never one a second
    expect(s.stderr().split("\n").filter((l) => FIGURES.test(l)).length).toBeLessThanOrEqual(4);
  }, 30_000);
});

describe("index --follow", () => {
  const INDEX_FIGURES = /([\d,]+) files? watched · ([\d,]+) sessions?, ([\d,]+) turns? indexed · commit (\d+ s ago|\d+ min ago|never) · RSS \d+ MB · ([\d,]+) lines? since start/;
  const calls = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ at: Date.UTC(2026, 0, 5, 10, 0, from + i), input: 10, output: 5 }));

  test("on a terminal: one line redrawn in place with files, sessions, turns, last commit and RSS; a new session shows in it", async () => {
    const claude = writeClaude(fresh("claude"), { s1: calls(3, 0) });
    const codex = fresh("codex");
    mkdirSync(codex);
    const db = fresh("i.db");
    let added = false;
    const out = await onTerminal([...BIN, "index", "--follow", "--claude", claude, "--codex", codex, "--db", db, "--poll-ms", "100"], 120, (o) => {
      const draws = o.split("\r\x1b[K").filter((d) => INDEX_FIGURES.test(d)).length;
      if (draws >= 2 && !added) {
        writeFileSync(join(claude, "projects", "-work-demo", "s2.jsonl"), transcript("s2", calls(4, 10)));
        added = true;
      }
      return added && /2 files watched · 2 sessions, 7 turns indexed · commit \d+ s ago · RSS \d+ MB · 5 lines since start/.test(o);
    });
    const status = out.split("\r\x1b[K").map((d) => d.replace(/\r?\n$/, "")).filter((d) => INDEX_FIGURES.test(d));
    expect(status.length).toBeGreaterThanOrEqual(3);
    for (const d of status) {
      expect(d).not.toContain("\n");
      expect([...d].length).toBeLessThan(120);
    }
    // singular where it is one: the first draws, before the second session
    expect(status[0]).toMatch(/^1 file watched · 1 session, 3 turns indexed · commit \d+ s ago/);
    // the first image's line says it in the singular too
    expect(out).toContain("indexed 1 file (4 lines)");
  }, 40_000);

  test("off a terminal: the same figures as a log line at each interval", async () => {
    const claude = writeClaude(fresh("claude"), { s1: calls(2, 0), s2: calls(2, 5) });
    const s = start(BIN, ["index", "--follow", "--claude", claude, "--codex", fresh("none"), "--db", fresh("j.db"), "--poll-ms", "100"], { env: { SLUICE_STATUS_INTERVAL_MS: "1500" } });
    try {
      await waitFor("two status lines", () => s.stderr().split("\n").filter((l) => INDEX_FIGURES.test(l)).length >= 2, 15_000);
      const lines = s.stderr().split("\n").filter((l) => INDEX_FIGURES.test(l));
      for (const l of lines) expect(l).toMatch(/^\[info\] 2 files watched · 2 sessions, 4 turns indexed · commit \d+ s ago · RSS \d+ MB · 0 lines since start$/);
      expect(s.stderr()).not.toContain("\x1b[K");
    } finally {
      s.proc.kill("SIGTERM");
      expect(await s.exited).toBe(0);
    }
    expect(s.stderr().split("\n").filter((l) => INDEX_FIGURES.test(l)).length).toBeLessThanOrEqual(4);
  }, 30_000);
});
