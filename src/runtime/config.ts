// The config file: the defaults a person sets once instead of passing on every command. A flag
// beats the environment, which beats the file, which beats sluice's own default. The file is
// $XDG_CONFIG_HOME/sluice/config.json (~/.config/...), ~/Library/Application Support/sluice/
// config.json on macOS, or the one --config (or $SLUICE_CONFIG) names. A mistake in it is one line
// that names the file and the key; a file that is missing where no one named it is no mistake.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { SluiceError, EXIT_USAGE } from "./errors";
import { didYouMean } from "./words";
import { homeDir } from "./host";

export interface Config {
  /** The database every command uses. */
  db?: string;
  /** The time zone reports count days in. */
  tz?: string;
  /** A price table laid over the built-in one (a path; relative to the config file). */
  prices?: string;
  /** The day weekly reports start on. */
  startOfWeek?: string;
  /** Dollars: the status line shows today's and this month's cost against them. */
  budget?: { daily?: number; monthly?: number };
  statusline?: { contextLow?: number; contextHigh?: number; color?: boolean };
  /** Keep the conversations' content in the index (sluice index). */
  archive?: boolean;
  /** The team store `push` and `devices --from` use by default, and this device's name and owner there. */
  push?: { url?: string; device?: string; user?: string };
}

type Kind = "string" | "number" | "boolean" | { [key: string]: Kind };
const SCHEMA: { [key: string]: Kind } = {
  db: "string", tz: "string", prices: "string", startOfWeek: "string", archive: "boolean",
  budget: { daily: "number", monthly: "number" },
  statusline: { contextLow: "number", contextHigh: "number", color: "boolean" },
  push: { url: "string", device: "string", user: "string" },
};

/** Where the config file is looked for when none is named. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = homeDir(env);
  if (process.platform === "darwin") return join(home, "Library", "Application Support", "sluice", "config.json");
  return join(env.XDG_CONFIG_HOME || join(home, ".config"), "sluice", "config.json");
}

let loaded: Config | null = null;

/** The config in use (read once): the named file, else the default one if it exists, else none. */
export function config(env: NodeJS.ProcessEnv = process.env): Config {
  if (loaded) return loaded;
  const named = env.SLUICE_CONFIG;
  const path = named || defaultConfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (!named && (err as NodeJS.ErrnoException).code === "ENOENT") return (loaded = {});
    throw new SluiceError(`config ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, EXIT_USAGE);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SluiceError(`config ${path} is not JSON (${(err as Error).message}); fix it or move it aside`, EXIT_USAGE);
  }
  check(path, value, SCHEMA, "");
  const c = value as Config;
  // a relative path in the file is relative to the file, not to wherever a command runs
  for (const key of ["db", "prices"] as const) if (c[key] && !isAbsolute(c[key]!)) c[key] = resolve(dirname(path), c[key]!);
  return (loaded = c);
}

function check(path: string, value: unknown, schema: { [key: string]: Kind }, at: string) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SluiceError(`config ${path}: ${at || "the file"} must be an object`, EXIT_USAGE);
  for (const [key, v] of Object.entries(value)) {
    const kind = schema[key];
    const name = at ? `${at}.${key}` : key;
    if (kind === undefined) throw new SluiceError(`config ${path}: unknown key '${name}'${didYouMean(key, Object.keys(schema)) || `; known: ${Object.keys(schema).join(", ")}`}`, EXIT_USAGE);
    if (typeof kind === "object") check(path, v, kind, name);
    else if (typeof v !== kind || (kind === "number" && !Number.isFinite(v))) throw new SluiceError(`config ${path}: '${name}' must be a ${kind}`, EXIT_USAGE);
  }
}

/** The `--config FILE` (or `--config=FILE`) of a command line, applied before any command reads the config. */
export function useConfigFlag(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    if (argv[i] === "--config" && argv[i + 1] !== undefined) env.SLUICE_CONFIG = argv[i + 1];
    else if (argv[i]!.startsWith("--config=")) env.SLUICE_CONFIG = argv[i]!.slice("--config=".length);
  }
}

/** A value of the environment, else the config file's: the file is below the environment. */
export function envOrConfig(name: string, fromConfig: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name] ? undefined : fromConfig;
}
