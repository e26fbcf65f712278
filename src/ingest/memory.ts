// Gives back the pages of the executable that only startup needed. A compiled sluice maps a 100 MB
// binary; starting touches about 30 MB of it, most of which the live tail never runs again, yet
// they stay counted in its RSS (an idle compiled Bun binary already holds about 25 MB of its own
// pages). The work is done by src/native/release-pages.c, a SQLite extension that build.ts
// compiles and embeds: loading it runs madvise(MADV_RANDOM) over every read-only file mapping,
// then MADV_DONTNEED on code and MADV_PAGEOUT on read-only data. It is an extension, not bun:ffi,
// because bun:ffi needs the JIT and the live image runs without it.
//
// Measured at 2,000 lines/s (README, "Memory"): live RSS 46-47 MB without it, 33-37 MB with it.

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { procStatusBytes } from "./progress";

// Replaced at build time by build.ts with the extension, base64; absent when running from source
// or when build.ts found no C compiler for the target.
declare const SLUICE_RELEASE_PAGES_SO: string | undefined;

const embedded = (): string => (typeof SLUICE_RELEASE_PAGES_SO === "string" ? SLUICE_RELEASE_PAGES_SO : "");

const fileRss = (): number => procStatusBytes("RssFile") ?? 0;

export type PageRelease = { released: true; beforeBytes: number; afterBytes: number } | { released: false; reason: string };

/**
 * Releases the pages of the read-only file mappings. `dirs` are where the extension may be written
 * for dlopen(): the first that works (a directory mounted noexec does not) is used, in a private
 * directory of mode 0700 removed at once; dlopen keeps its own mapping.
 */
export function releaseStartupPages(dirs: string[] = [tmpdir()]): PageRelease {
  if (process.platform !== "linux") return { released: false, reason: "only on Linux" };
  const so = embedded();
  if (!so) return { released: false, reason: "this build has no page-release extension (run from source, or built without a C compiler)" };
  const bytes = Buffer.from(so, "base64");
  const beforeBytes = fileRss();
  const failures: string[] = [];
  for (const dir of dirs) {
    let privateDir: string | null = null;
    try {
      privateDir = mkdtempSync(join(dir, ".sluice-pages-"));
      const file = join(privateDir, "release-pages.so");
      writeFileSync(file, bytes, { mode: 0o600 });
      const db = new Database(":memory:");
      try {
        db.loadExtension(file);
      } finally {
        db.close();
      }
      return { released: true, beforeBytes, afterBytes: fileRss() };
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
    } finally {
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    }
  }
  return { released: false, reason: failures.join("; ") };
}

/** releaseStartupPages, told in the log: the figures at info level, a failure at debug level. */
export function releaseStartupPagesLogged(dbPath: string, log: { info(m: string): void; debug(m: string): void }): void {
  const r = releaseStartupPages([tmpdir(), dirname(resolve(dbPath))]);
  const mb = (b: number) => (b / 1048576).toFixed(1);
  if (r.released) log.info(`released the start-up pages of the executable: file-backed RSS ${mb(r.beforeBytes)} -> ${mb(r.afterBytes)} MB`);
  else log.debug(`start-up pages not released: ${r.reason}`);
}
