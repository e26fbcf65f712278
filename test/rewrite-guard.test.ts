// The check after every read of a followed file: a copytruncate that lands between a check and the
// read must not hand the middle of the new content to the line reader. Real files, real reads.

import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, truncateSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { RewriteGuard } from "../src/input/rewrite-guard";
import { tempDir } from "./helpers";

const tmp = tempDir("sluice-guard-");
afterAll(() => tmp.cleanup());
const line = (tag: string, n: number) => `${JSON.stringify({ tag, n, pad: "x".repeat(100) })}\n`;

test("a read after a copytruncate and new writes is discarded; reads of the same content pass", () => {
  const file = join(tmp.dir, "f.jsonl");
  writeFileSync(file, Array.from({ length: 50 }, (_, i) => line("old", i)).join(""));
  const fd = openSync(file, "r");
  try {
    const guard = new RewriteGuard(fd);
    const buf = Buffer.alloc(1 << 16);
    const first = guard.read(buf, 0, 3000, 0);
    expect(first).toBe(3000);
    appendFileSync(file, line("old", 50));
    expect(guard.read(buf, 0, 1 << 16, 3000)).toBeGreaterThan(0); // appended: the same content
    expect(guard.rewritten).toBe(false);
    // copytruncate, then more new lines than were read: the offset is inside the new content
    truncateSync(file, 0);
    appendFileSync(file, Array.from({ length: 80 }, (_, i) => line("new", i)).join(""));
    expect(guard.read(buf, 0, 1 << 16, 6000)).toBe(0);
    expect(guard.rewritten).toBe(true);
    expect(guard.read(buf, 0, 1 << 16, 0)).toBe(0); // and stays so
  } finally {
    closeSync(fd);
  }
});

test("a file that was empty when opened learns its first bytes from the reads", () => {
  const file = join(tmp.dir, "empty.jsonl");
  writeFileSync(file, "");
  const fd = openSync(file, "r");
  try {
    const guard = new RewriteGuard(fd);
    expect(guard.fingerprint().fingerprintLen).toBe(0);
    appendFileSync(file, line("a", 1) + line("a", 2));
    const buf = Buffer.alloc(4096);
    const n = guard.read(buf, 0, 4096, 0);
    expect(guard.fingerprint().fingerprintLen).toBe(n);
    truncateSync(file, 0);
    appendFileSync(file, line("b", 1) + line("b", 2) + line("b", 3));
    expect(guard.read(buf, 0, 4096, n)).toBe(0);
    expect(guard.rewritten).toBe(true);
  } finally {
    closeSync(fd);
  }
});
