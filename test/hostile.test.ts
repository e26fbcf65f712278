// Hostile bytes, each in a real file through the compiled binary: every line lands in rejects or
// in a row exactly as JSON.parse reads it; nothing crashes, hangs or grows memory without bound.

import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { one, query, RUNNERS, run, tempDir } from "./helpers";

const tmp = tempDir("sluice-hostile-");
afterAll(() => tmp.cleanup());

test("BOM, CRLF, bad UTF-8, surrogates, NUL, huge numbers, duplicate keys, deep nesting, random bytes, a 100 MB line, no final newline", async () => {
  const randomBytes = Buffer.alloc(5000);
  for (let i = 0, x = 12345; i < randomBytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    randomBytes[i] = (x >>> 16) & 0xff || 1;
    if (randomBytes[i] === 10) randomBytes[i] = 11;
  }
  const lines: Array<[string, Buffer]> = [
    ["bom", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"sid":"bom-line","round":1}\n')])],
    ["crlf", Buffer.from('{"sid":"crlf","round":2}\r\n')],
    ["overlong", Buffer.from([...Buffer.from('{"sid":"'), 0xc0, 0xaf, ...Buffer.from('"}\n')])],
    ["surrogate", Buffer.from('{"sid":"\\ud800","round":3}\n')],
    ["raw-nul", Buffer.from('{"sid":"nul\u0000inside"}\n')],
    ["escaped-nul", Buffer.from('{"sid":"esc\\u0000nul","round":4}\n')],
    ["big-numbers", Buffer.from('{"sid":"big","round":9007199254740993,"metadata":"{\\"pid\\":18446744073709551617}"}\n')],
    ["duplicate", Buffer.from('{"sid":"dup","sid":"dup2","round":5}\n')],
    ["deep-array", Buffer.from("[".repeat(100_000) + "]".repeat(100_000) + "\n")],
    ["deep-object", Buffer.from('{"a":' + "[".repeat(100_000) + "]".repeat(100_000) + ',"sid":"deep"}\n')],
    ["random", Buffer.concat([randomBytes, Buffer.from("\n")])],
    ["huge", Buffer.concat([Buffer.from('{"sid":"huge","line":"'), Buffer.alloc(100 << 20, 0x61), Buffer.from('"}\n')])],
    ["last", Buffer.from('{"sid":"last-no-newline","round":6}')],
  ];
  const offsets: Record<string, number> = {};
  let at = 0;
  for (const [name, b] of lines) {
    offsets[name] = at;
    at += b.length;
  }
  const file = join(tmp.dir, "hostile.jsonl"), db = join(tmp.dir, "hostile.db");
  writeFileSync(file, Buffer.concat(lines.map(([, b]) => b)));
  const r = await run(RUNNERS[1]!.cmd, ["ingest", file, "--db", db, "--json"]);
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary.committedOffset).toBe(at);
  // bounded by --max-line (64 MiB), not by the line
  expect(summary.peakRssMb).toBeLessThan(512);

  const rows = Object.fromEntries(query(db, "SELECT byte_offset, sid, round, meta_pid FROM sse_rows").map((x) => [x.byte_offset, x]));
  expect(rows[offsets.bom! + 3]).toMatchObject({ sid: "bom-line", round: 1 }); // the BOM is not part of the line
  expect(one(db, "SELECT raw FROM sse_raw WHERE id = (SELECT id FROM sse_rows WHERE sid = 'bom-line')").raw).toBe('{"sid":"bom-line","round":1}');
  expect(rows[offsets.crlf!]).toMatchObject({ sid: "crlf", round: 2 });
  expect(rows[offsets.surrogate!]).toMatchObject({ sid: "\ufffd", round: 3 }); // SQLite text is UTF-8: a lone surrogate becomes U+FFFD
  expect(rows[offsets["escaped-nul"]!]).toMatchObject({ sid: "esc\u0000nul", round: 4 });
  expect(rows[offsets["big-numbers"]!]).toMatchObject({ sid: "big", round: 9007199254740992, meta_pid: 18446744073709551617 }); // as JSON.parse reads them
  expect(rows[offsets.duplicate!]).toMatchObject({ sid: "dup2", round: 5 }); // JSON.parse keeps the last
  expect(one(db, "SELECT line FROM sse_lines WHERE sid = 'dup2'")).toBeDefined();
  expect(rows[offsets["deep-object"]!]).toMatchObject({ sid: "deep" });
  expect(rows[offsets.last!]).toMatchObject({ sid: "last-no-newline", round: 6 });
  expect(Object.keys(rows).length).toBe(8);

  const rejects = Object.fromEntries(query(db, "SELECT byte_offset, length, reason, length(head) AS head FROM rejects").map((x) => [x.byte_offset, x]));
  expect(rejects[offsets.overlong!].reason).toBe("not UTF-8");
  expect(rejects[offsets["raw-nul"]!].reason).toBe("not JSON");
  expect(rejects[offsets["deep-array"]!].reason).toBe("not a JSON object");
  expect(rejects[offsets.random!].reason).toMatch(/not UTF-8|not JSON/);
  expect(rejects[offsets.huge!]).toMatchObject({ reason: "longer than --max-line", length: (100 << 20) + 24, head: 4096 });
  expect(Object.keys(rejects).length).toBe(5);
  expect((await run(RUNNERS[1]!.cmd, ["check", "--db", db])).code).toBe(0);
}, 120_000);
