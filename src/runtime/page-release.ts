// Gives back the pages of the executable that only startup needed. A compiled sluice maps a 100 MB
// binary; starting touches about 30 MB of it, most of which the live tail never runs again, yet
// they stay counted in its RSS (an idle compiled Bun binary already holds about 25 MB of its own
// pages). The work is done by src/native/release-pages.c, in the native extension: loading it
// runs madvise(MADV_RANDOM) over every read-only file mapping, then MADV_DONTNEED on code and
// MADV_PAGEOUT on read-only data.
//
// Measured at 2,000 lines/s (docs/design.md, "Memory"): live RSS 46-47 MB without it, 33-37 MB with it.

import { Database } from "bun:sqlite";
import { extensionDirs, loadNativeExtension } from "../native/extension";
import { procStatusBytes } from "./proc";

const fileRss = (): number => procStatusBytes("RssFile") ?? 0;

export type PageRelease = { released: true; beforeBytes: number; afterBytes: number } | { released: false; reason: string };

/** Releases the pages of the read-only file mappings; `dirs` are where the extension may be written. */
export function releaseStartupPages(dirs: string[]): PageRelease {
  const beforeBytes = fileRss();
  const db = new Database(":memory:");
  try {
    loadNativeExtension(db, "sqlite3_releasepages_init", dirs);
    return { released: true, beforeBytes, afterBytes: fileRss() };
  } catch (err) {
    return { released: false, reason: (err as Error).message };
  } finally {
    db.close();
  }
}

/** releaseStartupPages, told in the log: the figures at info level, a failure at debug level. */
export function releaseStartupPagesLogged(dbPath: string, log: { info(m: string): void; debug(m: string): void }): void {
  const r = releaseStartupPages(extensionDirs(dbPath));
  const mb = (b: number) => (b / 1048576).toFixed(1);
  if (r.released) log.info(`released the start-up pages of the executable: file-backed RSS ${mb(r.beforeBytes)} -> ${mb(r.afterBytes)} MB`);
  else log.debug(`start-up pages not released: ${r.reason}`);
}
