// This machine's home directory and host name, with node:os loaded only when they are asked and
// $HOME does not say: its load is about 1 ms of a 45 ms status line, which asks for neither.

let os: typeof import("node:os") | undefined;
const nodeOs = () => (os ??= require("node:os") as typeof import("node:os"));

/** $HOME, or the user's home directory from the system when it is unset or empty. */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || nodeOs().homedir();
}

let host: string | undefined;

/** The host name, as the writer claims record it (read once). */
export function hostName(): string {
  return (host ??= nodeOs().hostname());
}
