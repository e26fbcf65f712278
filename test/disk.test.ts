// A full disk and a read-only file system under the database (a small tmpfs; needs root on Linux):
// sluice stops with a one-line message and exit 1, the database stays intact, and once space is
// back the same command resumes with every line exactly once.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generate, generateFile } from "../bench/generate";
import { checkExactlyOnce, one, RUNNERS, run, tempDir } from "./helpers";

const canMount = process.platform === "linux" && process.getuid?.() === 0;
const tmp = tempDir("sluice-disk-");
const mnt = join(tmp.dir, "small");
const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd], { stderr: "pipe" });

beforeAll(() => {
  if (!canMount) return;
  mkdirSync(mnt);
  const r = sh(`mount -t tmpfs -o size=3m,mode=0700 sluice-test ${mnt}`);
  if (r.exitCode !== 0) throw new Error(`cannot mount a tmpfs for the disk-full test: ${r.stderr.toString()}`);
});
afterAll(() => {
  if (canMount) sh(`umount ${mnt}`);
  tmp.cleanup();
});

test.skipIf(!canMount)("disk full: a clear stop, an intact database, then exactly once after space is freed; read-only the same", async () => {
  const input = join(tmp.dir, "capture.jsonl"), db = join(mnt, "sluice.db");
  generateFile(input, { lines: 20_000, seed: 41, hostile: 0.02 });
  const full = await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", db]);
  expect(full.code).toBe(1);
  const errors = full.stderr.trim().split("\n").filter((l) => l.includes("[error]"));
  expect(errors.length).toBe(1);
  expect(errors[0]).toContain("the disk holding the database is full");
  expect(errors[0]).toContain("run the same command again");
  expect(full.stderr).not.toContain("    at "); // no stack trace
  expect(one(db, "PRAGMA integrity_check").integrity_check).toBe("ok");

  expect(sh(`mount -o remount,size=64m ${mnt}`).exitCode).toBe(0);
  const resumed = await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", db]);
  expect(resumed.code).toBe(0);
  checkExactlyOnce(db, readFileSync(input));

  // read-only: the new lines wait, nothing is damaged, and they arrive once it is writable again
  appendFileSync(input, Buffer.concat([...generate({ lines: 1000, seed: 42 })]));
  expect(sh(`mount -o remount,ro ${mnt}`).exitCode).toBe(0);
  const ro = await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", db]);
  expect(ro.code).not.toBe(0);
  expect(ro.stderr).toMatch(/read-only|readonly/i);
  expect(ro.stderr).not.toContain("    at ");
  expect(sh(`mount -o remount,rw ${mnt}`).exitCode).toBe(0);
  const again = await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", db]);
  expect(again.code).toBe(0);
  checkExactlyOnce(db, readFileSync(input));
  expect((await run(RUNNERS[1]!.cmd, ["check", "--db", db])).code).toBe(0);
}, 120_000);

test.skipIf(!canMount)("a backup or vacuum --full that meets a full disk fails in one line and leaves no scratch file", async () => {
  const input = join(tmp.dir, "capture-2.jsonl"), db = join(tmp.dir, "big.db");
  generateFile(input, { lines: 20_000, seed: 43 });
  expect((await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", db])).code).toBe(0);
  sh(`rm -rf ${mnt}/*`); // the test before leaves its database there
  const target = join(mnt, "backups");
  mkdirSync(target);
  expect(sh(`mount -o remount,size=2m ${mnt}`).exitCode).toBe(0);
  for (let i = 0; i < 2; i++) {
    const r = await run(RUNNERS[1]!.cmd, ["backup", join(target, "b.db"), "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(target)).toEqual([]);
  }
  // vacuum --full of a database on the small disk: its copy does not fit beside it
  expect(sh(`mount -o remount,size=64m ${mnt}`).exitCode).toBe(0);
  const onMnt = join(mnt, "v.db");
  expect((await run(RUNNERS[1]!.cmd, ["ingest", input, "--db", onMnt])).code).toBe(0);
  // what SQLite keeps beside a database (a journal, a WAL) aside, nothing new
  const files = () => readdirSync(mnt).filter((f) => !/-(journal|wal|shm)$/.test(f)).sort();
  const before = files();
  const used = Number(sh(`du -k ${onMnt}`).stdout.toString().split("\t")[0]);
  expect(sh(`mount -o remount,size=${used + 512}k ${mnt}`).exitCode).toBe(0);
  const v = await run(RUNNERS[1]!.cmd, ["vacuum", "--full", "--db", onMnt]);
  expect(v.code).toBe(1);
  expect(v.stderr).not.toContain("    at ");
  expect(files()).toEqual(before);
  expect((await run(RUNNERS[1]!.cmd, ["check", "--db", onMnt])).code).toBe(0);
}, 120_000);
