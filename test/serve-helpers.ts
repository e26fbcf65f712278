// Shared by the dashboard's tests: the samples indexed by the real binary into a temp database,
// and `sluice serve` started on a free port, its address read from the line it logs.

import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNERS, run, SHARED, start, tempDir, waitFor, type Running } from "./helpers";

export const BIN = RUNNERS[1]!.cmd;

/** A temp dir with the Claude and Codex samples indexed into sluice.db, and a config file of its own. */
export async function indexedSamples(prefix: string, config: object = {}) {
  const tmp = tempDir(prefix);
  const claude = join(tmp.dir, "claude"), codex = join(tmp.dir, "codex");
  cpSync(join(SHARED, "samples", "claude"), claude, { recursive: true });
  cpSync(join(SHARED, "samples", "codex"), codex, { recursive: true });
  const db = join(tmp.dir, "sluice.db");
  mkdirSync(join(tmp.dir, "xdg", "sluice"), { recursive: true });
  writeFileSync(join(tmp.dir, "xdg", "sluice", "config.json"), JSON.stringify(config));
  // the CLI and the server read the same config file and count days in the same zone
  const env = { XDG_CONFIG_HOME: join(tmp.dir, "xdg"), TZ: "UTC" };
  const r = await run(BIN, ["index", "--claude", claude, "--codex", codex, "--db", db], { env });
  if (r.code !== 0) throw new Error(`index failed: ${r.stderr}`);
  const cli = async (...args: string[]) => {
    const out = await run(BIN, [...args, "--db", db], { env });
    if (out.stdout === "") throw new Error(`sluice ${args.join(" ")}: ${out.stderr}`);
    return JSON.parse(out.stdout);
  };
  return { ...tmp, claude, codex, db, env, cli };
}

export interface Served {
  url: string;
  running: Running;
  stop: () => Promise<void>;
}

/** Starts `sluice serve` with these flags on a free port; resolves once it listens. */
export async function serve(db: string, env: Record<string, string>, ...flags: string[]): Promise<Served> {
  const running = start(BIN, ["serve", "--db", db, "--port", "0", ...flags], { env });
  let url = "";
  await waitFor("serve to listen", () => {
    const m = running.stderr().match(/on (http:\/\/\S+?)\/[ \n]/);
    if (m) url = m[1]!;
    return url !== "";
  });
  return { url, running, stop: async () => { running.proc.kill("SIGTERM"); await running.exited; } };
}
