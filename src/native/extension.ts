// The native extension: src/native/*.c, built by build.ts into one SQLite extension and embedded
// in the executable as base64. It is a SQLite extension, not bun:ffi, because the live image runs
// without the JIT and bun:ffi needs it, while bun:sqlite's loadExtension() is a plain dlopen().
// Its entry points: sqlite3_releasepages_init (src/ingest/memory.ts) and sqlite3_checkpointer_init
// (src/db/background-checkpoints.ts).

import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

// Replaced at build time by build.ts; absent when running from source, "" when build.ts found no C
// compiler for the target.
declare const SLUICE_NATIVE_SO: string | undefined;

/** Why this process cannot load the extension, or null when it can. */
function nativeExtensionMissing(): string | null {
  if (process.platform !== "linux") return "only on Linux";
  if (typeof SLUICE_NATIVE_SO !== "string" || !SLUICE_NATIVE_SO) return "this build has no native extension (run from source, or built without a C compiler)";
  return null;
}

/** Where the extension may be written for dlopen(): the temp directory, else (it may be mounted noexec) the database's. */
export const extensionDirs = (dbPath: string): string[] => [tmpdir(), dirname(resolve(dbPath))];

/**
 * Loads the extension into `db` at `entryPoint`. It is written to a private directory of mode
 * 0700 in the first of `dirs` that works and removed at once: dlopen keeps its own mapping, and
 * each load is a copy of its own. Throws, with every directory's reason, when none works.
 */
export function loadNativeExtension(db: Database, entryPoint: string, dirs: string[]): void {
  const missing = nativeExtensionMissing();
  if (missing) throw new Error(missing);
  const bytes = Buffer.from(SLUICE_NATIVE_SO!, "base64");
  const failures: string[] = [];
  for (const dir of dirs) {
    let privateDir: string | null = null;
    try {
      privateDir = mkdtempSync(join(dir, ".sluice-native-"));
      const file = join(privateDir, "sluice-native.so");
      writeFileSync(file, bytes, { mode: 0o600 });
      db.loadExtension(file, entryPoint);
      return;
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
    } finally {
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    }
  }
  throw new Error(failures.join("; "));
}
