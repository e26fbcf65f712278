// The long-line parse of the deep index (src/deep-index/trimmed-json.ts): the strings it cuts, the
// escapes and UTF-8 characters it must not split, and, on every sample, that the parsers find
// exactly what they find in the line parsed whole.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../bench/generate";
import { parseClaudeLine } from "../src/deep-index/claude";
import { newCodexState, outputFailed, parseCodexLine } from "../src/deep-index/codex";
import type { Sink } from "../src/deep-index/records";
import { LONG_STRING_BYTES, parseLine, TRIM_LINE_BYTES, trimLongStrings } from "../src/deep-index/trimmed-json";
import { SHARED } from "./helpers";

const line = (v: unknown) => Buffer.from(JSON.stringify(v));
const parse = (b: Buffer) => parseLine(b, 0, b.length);

/** Text that is hard to cut: escapes of every kind, quotes, backslash runs, multi-byte characters. */
function awkwardText(rng: Rng, bytes: number): string {
  const pieces = ['"', "\\", "\\\\", '\\"', "\n", "\t", "\u0001", "é", "€", "😀", "\ud800", "a", "word ", '{"k":"v"}', "</tag>"];
  const out: string[] = [];
  for (let n = 0; n < bytes; ) {
    const p = pieces[Math.floor(rng.next() * pieces.length)]!;
    out.push(p);
    n += Buffer.byteLength(p);
  }
  return out.join("");
}

describe("trimmed-json", () => {
  test("short lines, and long lines without long strings, parse exactly as JSON.parse", () => {
    const small = { type: "assistant", n: 1.5, ok: true, none: null, list: [1, "two", { three: 3 }] };
    expect(parse(line(small))).toEqual(small);
    const wide = { parts: Array.from({ length: 4000 }, (_, i) => `part-${i}-"quoted"`) };
    expect(line(wide).length).toBeGreaterThan(TRIM_LINE_BYTES);
    expect(trimLongStrings(line(wide), 0, line(wide).length)).toBeNull();
    expect(parse(line(wide))).toEqual(wide);
  });

  test("a line read in place is JSON exactly when JSON.parse says so, wherever it sits in the buffer", () => {
    const cases = ['{"a":1}', '{"a":1} {"b":2}', '{"a":1}xyz', "   ", "123", "null", '{"a":1', '{"a":1}\r', "\ufeff{\"a\":1}", '"x"', "[1,2]", '{"a":"\\ud800"}'];
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    for (const c of [...cases.map((t) => Buffer.from(t)), invalidUtf8, Buffer.from('{"a":"é€😀"}')]) {
      let want: unknown;
      try {
        want = JSON.parse(c.toString("utf8"));
      } catch {}
      // at the start of the buffer, and after other bytes (the JSONL parser skips a byte-order mark only at the start)
      for (const pad of [0, 3]) {
        const buf = Buffer.concat([Buffer.from("x".repeat(pad)), c, Buffer.from("\nrest")]);
        expect({ line: c.toString("latin1"), pad, got: parseLine(buf, pad, pad + c.length) }).toEqual({ line: c.toString("latin1"), pad, got: want });
      }
    }
  });

  test("a long string keeps its head and its tail, whole characters and escapes, and the rest of the line is untouched", () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const long = awkwardText(rng, LONG_STRING_BYTES + 1 + Math.floor(rng.next() * 60_000));
      const v = { type: "user", before: awkwardText(rng, 40), message: { content: [{ type: "tool_result", tool_use_id: "toolu_1", content: long, is_error: trial % 2 === 0 }] }, after: [long.slice(0, 10), 7] };
      const b = Buffer.concat([line(v), Buffer.from(" ".repeat(TRIM_LINE_BYTES))]);
      const got = parse(b) as typeof v;
      const cut = got.message.content[0]!.content;
      const [head, tail] = cut.split("…") as [string, string];
      expect(cut.split("…").length).toBe(2);
      expect(long.startsWith(head)).toBe(true);
      expect(long.endsWith(tail)).toBe(true);
      expect(head.length).toBeGreaterThan(1024 / 6 - 1);
      expect(tail.length).toBeGreaterThan(256 / 6 - 1);
      expect(Buffer.byteLength(cut)).toBeLessThan(2048);
      // everything else is as JSON.parse has it
      expect({ ...got, message: { content: [{ ...got.message.content[0], content: long }] } }).toEqual(v);
    }
  });

  test("strings up to the limit are kept whole; one byte more is cut", () => {
    const at = "x".repeat(LONG_STRING_BYTES), over = "x".repeat(LONG_STRING_BYTES + 1);
    const pad = "p".repeat(TRIM_LINE_BYTES);
    expect((parse(line({ at, pad: [pad.slice(0, 1000)], more: Array(20).fill(at) })) as any).at).toBe(at);
    expect((parse(line({ over, pad })) as any).over).toBe("x".repeat(1024) + "…" + "x".repeat(256));
  });

  test("a long line that is not JSON is still not JSON", () => {
    const pad = "y".repeat(TRIM_LINE_BYTES * 2);
    for (const bad of [`{"a":"${pad}`, `{"a":"${pad}"`, `{"a":"${pad}\\x"}`, `["${pad}" "b"]`, `{"a":"${pad}"}}`]) {
      const b = Buffer.from(bad);
      expect(parse(b)).toBeUndefined();
    }
  });

  test("a Codex output cut in the middle still tells its exit code", () => {
    const body = "line of output with \"quotes\" and \"exit_code\":0 in it\n".repeat(1000);
    const output = JSON.stringify({ output: body, metadata: { exit_code: 2, duration_seconds: 0.5 } });
    const v = { timestamp: "2026-01-01T00:00:00Z", type: "response_item", payload: { type: "function_call_output", call_id: "call_1", output } };
    const got = parse(line(v)) as typeof v;
    expect(got.payload.output).not.toBe(output);
    expect(outputFailed(got.payload.output)).toBe(true);
    expect(outputFailed(JSON.stringify({ output: body, metadata: { exit_code: 0 } }).slice(0, 900) + "…" + ',"metadata":{"exit_code":0}}')).toBe(false);
  });

  test("on every sample, the parsers find exactly what they find in the line parsed whole", () => {
    function* walk(d: string): Generator<string> {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) yield* walk(p);
        else if (p.endsWith(".jsonl")) yield p;
      }
    }
    // What the index keeps of each call: of a user message, its first 200 characters (file-parser.ts).
    const record = (calls: unknown[]): Sink =>
      new Proxy({} as Sink, {
        get: (_t, name) => (...args: unknown[]) => calls.push(name === "userMessage" ? [name, (args[0] as string | null)?.trim().slice(0, 200)] : [name, ...args]),
      });
    let trimmedLines = 0, files = 0;
    for (const root of ["claude", "codex"]) {
      for (const file of walk(join(SHARED, "samples", root))) {
        files++;
        const buf = readFileSync(file);
        const whole: unknown[] = [], trimmed: unknown[] = [];
        const [stateWhole, stateTrimmed] = [newCodexState(), newCodexState()];
        for (let s = 0; s < buf.length; ) {
          let nl = buf.indexOf(10, s);
          if (nl < 0) nl = buf.length;
          let a: any;
          try {
            a = JSON.parse(buf.toString("utf8", s, nl));
          } catch {}
          const b: any = parseLine(buf, s, nl);
          if (a === undefined) expect(b).toBeUndefined();
          else if (a && typeof a === "object") {
            if (JSON.stringify(a) !== JSON.stringify(b)) trimmedLines++;
            if (root === "claude") parseClaudeLine(a, s, record(whole)), parseClaudeLine(b, s, record(trimmed));
            else parseCodexLine(a, s, stateWhole, record(whole)), parseCodexLine(b, s, stateTrimmed, record(trimmed));
          }
          s = nl + 1;
        }
        expect({ file, calls: trimmed }).toEqual({ file, calls: whole });
      }
    }
    expect(files).toBeGreaterThan(20);
    expect(trimmedLines).toBeGreaterThan(20); // the samples do have long strings to cut
  });
});
