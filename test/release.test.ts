// The release build: `bun run build.ts --release` for linux-x64 (this machine's target), its
// checksum file, and the binary itself: --version from package.json, and one ingest.

import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { generateFile } from "../bench/generate";
import { checkExactlyOnce, ROOT, run, tempDir } from "./helpers";

const tmp = tempDir("sluice-release-");
const bin = join(ROOT, "dist", "sluice-linux-x64");
afterAll(() => {
  tmp.cleanup();
  rmSync(bin, { force: true });
  rmSync(`${bin}.sha256`, { force: true });
});

test.skipIf(process.platform !== "linux" || process.arch !== "x64")("the linux-x64 release binary: checksum, --version, one ingest", async () => {
  const build = await run([process.execPath], ["run", join(ROOT, "build.ts"), "--release", "--only", "linux-x64"]);
  expect(build.stderr).toContain("built dist/sluice-linux-x64");
  expect(build.code).toBe(0);

  const [sum, name] = readFileSync(`${bin}.sha256`, "utf8").trim().split(/\s+/);
  expect(name).toBe("sluice-linux-x64");
  expect(sum).toBe(createHash("sha256").update(readFileSync(bin)).digest("hex"));

  const v = await run([bin], ["--version"]);
  expect([v.code, v.stdout.trim()]).toEqual([0, pkg.version]);

  const file = join(tmp.dir, "capture.jsonl"), db = join(tmp.dir, "s.db");
  generateFile(file, { lines: 2000, seed: 9, hostile: 0.1 });
  const r = await run([bin], ["ingest", file, "--db", db, "--json"], { env: { HOME: tmp.dir } });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).committedOffset).toBe(readFileSync(file).length);
  checkExactlyOnce(db, readFileSync(file));
}, 120_000);
