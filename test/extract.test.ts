import { describe, expect, test } from "bun:test";
import { EnvelopeExtractor } from "../src/extract/envelope";
import { oracle, runDifferential } from "./differential";

describe("envelope extractor", () => {
  test("equals JSON.parse on 1,000,000 generated lines, a third of them hostile", () => {
    const r = runDifferential(1_000_000, 20261123, 0.3, 0.02);
    expect(r.lines).toBeGreaterThanOrEqual(1_000_000);
    // the run must really exercise both paths and the rejects
    expect(r.rejects).toBeGreaterThan(10_000);
    expect(r.slowPath).toBeGreaterThan(10_000);
    expect(r.differences.slice(0, 5)).toEqual([]);
  }, 300_000);

  test("the JSON.parse mode of the JIT-less live image equals JSON.parse too, on 200,000 lines", () => {
    const r = runDifferential(200_000, 77, 0.3, 0.02, true);
    expect(r.rejects).toBeGreaterThan(1000);
    expect(r.differences.slice(0, 5)).toEqual([]);
  }, 120_000);

  const cases: Array<[string, string]> = [
    ["nested objects reuse the keys before the top-level ones", '{"extra":{"sid":"not-this-one","metadata":"{\\"pid\\":1}"},"sid":"this-one","metadata":"{\\"pid\\":2,\\"cwd\\":\\"/x\\",\\"turn_id\\":\\"t\\"}"}'],
    ["escaped quote and backslash at string ends", '{"sid":"a\\\\","flow_id":"\\"","t":"\\\\\\"","line":"data: {\\"x\\":\\"\\\\\\\\\\"}"}'],
    ["surrogate pairs and a lone surrogate", '{"sid":"\\ud83d\\ude00","flow_id":"\\ud800x","event":"\\uDC00"}'],
    ["raw UTF-8", '{"sid":"日本語 😀 déjà","metadata":"{\\"cwd\\":\\"/home/ana/Документы\\"}"}'],
    ["whitespace between every token", ' \t{ "sid" :\t"s" ,\r\n "round"  : 3 , "metadata" : "{ \\"pid\\" : 7 }" } '],
    ["an escaped key is the same key", '{"\\u0073id":"escaped","round":1}'],
    ["duplicate keys: the last one wins", '{"sid":"first","sid":"second","round":1,"round":null}'],
    ["numbers beyond 2^53 and non-integers", '{"round":9007199254740993,"metadata":"{\\"pid\\":123456789012345678901234567890}"}'],
    ["round as a float, a string, a boolean", '{"round":1.5e2,"sid":5,"flow_id":true,"event":[1,{"a":2}],"t":{"b":null}}'],
    ["metadata that is not an object", '{"metadata":"[1,2]","sid":"x"}'],
    ["metadata that is not JSON", '{"metadata":"{not json","sid":"x"}'],
    ["empty object", "{}"],
    ["deep nesting on an unknown key", `{"deep":${"[".repeat(200)}${"]".repeat(200)},"sid":"ok"}`],
  ];
  for (const [name, line] of cases) {
    test(`hostile: ${name}`, () => {
      const ex = new EnvelopeExtractor();
      const buf = Buffer.from(line);
      const want = oracle(buf);
      expect(typeof want).toBe("object");
      expect(ex.extractChecked(buf, 0, buf.length)).toBeNull();
      expect({ ...ex.fields }).toEqual(want as any);
    });
  }

  const bad: Array<[string, string | Buffer, string]> = [
    ["not JSON", "not json", "not JSON"],
    ["truncated object", '{"sid":"x"', "not JSON"],
    ["an array", "[1,2]", "not a JSON object"],
    ["a string", '"s"', "not a JSON object"],
    ["a control character inside a string", '{"sid":"a\u0001b"}', "not JSON"],
    ["an invalid escape", '{"sid":"\\x41"}', "not JSON"],
    ["a leading zero", '{"round":01}', "not JSON"],
    ["a trailing comma", '{"a":1,}', "not JSON"],
    ["trailing garbage", "{} x", "not JSON"],
    ["invalid UTF-8", Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), "not UTF-8"],
    ["an overlong encoding", Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), "not UTF-8"],
    ["a UTF-8 encoded surrogate", Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), "not UTF-8"],
    ["a NUL byte", Buffer.from('{"a":1}\0'), "not JSON"],
  ];
  for (const [name, line, reason] of bad) {
    test(`rejects ${name}`, () => {
      const ex = new EnvelopeExtractor();
      const buf = Buffer.isBuffer(line) ? line : Buffer.from(line);
      expect(oracle(buf)).toBe(reason);
      expect(ex.extractChecked(buf, 0, buf.length)).toBe(reason as any);
    });
  }
});
