import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A worker thread's module, resolved from the entry point: that also works inside a compiled
 * executable, where build.ts bundles each worker as an entry point beside main.ts.
 */
export function workerPath(relative: string): string {
  return join(dirname(Bun.main), relative);
}

/** `$SLUICE_DB`, else the platform's per-user data directory. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLUICE_DB) return env.SLUICE_DB;
  const home = env.HOME || homedir();
  if (process.platform === "darwin") return join(home, "Library", "Application Support", "sluice", "sluice.db");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "sluice", "sluice.db");
}
