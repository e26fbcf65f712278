import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { VERSION } from "./version";
import { homeDir } from "./host";

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
  const home = homeDir(env);
  if (process.platform === "darwin") return join(home, "Library", "Application Support", "sluice", "sluice.db");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "sluice", "sluice.db");
}

/**
 * Writes an unexpected error's trace, the command and the version to a file of its own (0600, in
 * $XDG_STATE_HOME/sluice, else ~/.local/state/sluice) and returns its path; null if it cannot.
 */
export function saveErrorDetails(err: unknown): string | null {
  try {
    const dir = join(process.env.XDG_STATE_HOME || join(homeDir(), ".local", "state"), "sluice");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `error-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}.log`);
    const text = [`sluice ${VERSION}`, `command: ${process.argv.slice(2).join(" ")}`, "", String((err as Error)?.stack ?? err), ""].join("\n");
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  } catch {
    return null;
  }
}
