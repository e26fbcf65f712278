// Where the team store is: a postgres:// URL from the command line or SLUICE_PUSH_URL, and its
// password from PGPASSWORD or ~/.pgpass (PGPASSFILE), never from the command line, where any user
// of the machine can read it in the process list and it stays in the shell's history. Every
// message shows the URL through `masked`, which never holds a password.

import { readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { homeDir } from "../runtime/host";

export interface StoreUrl {
  /** What messages show: postgres://user@host:port/database, no password, no query. */
  masked: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** A Unix socket directory (`?host=/run/postgresql`), when the URL names one. */
  socketDir: string | null;
  /** From PGPASSWORD or ~/.pgpass; null: none (trust, peer or certificate authentication). */
  password: string | null;
  /** The URL's query (sslmode and the like), passed on as it is. */
  query: string;
}

const DEFAULT_PORT = 5432;

/** The store's URL: the argument, else SLUICE_PUSH_URL; refused with one line when it is unusable. */
export function storeUrl(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): StoreUrl {
  const text = arg && arg.length ? arg : env.SLUICE_PUSH_URL;
  if (!text) throw new SluiceError("no PostgreSQL URL: give one (postgres://user@host/database) or set SLUICE_PUSH_URL", EXIT_USAGE);
  let u: URL;
  try {
    // libpq's form for a socket, postgres://user@/db?host=/run/postgresql, has no host: the URL parser wants one
    u = new URL(text.replace(/^(postgres(?:ql)?:\/\/(?:[^/@]*@)?)\//, "$1localhost/"));
  } catch {
    throw new SluiceError(`'${maskText(text)}' is not a URL; use postgres://user@host[:port]/database`, EXIT_USAGE);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new SluiceError(`'${maskText(text)}' is not a postgres:// URL; use postgres://user@host[:port]/database`, EXIT_USAGE);
  }
  const user = decodeURIComponent(u.username) || env.PGUSER || userInfo().username;
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || env.PGDATABASE || user;
  const socketDir = u.searchParams.get("host")?.startsWith("/") ? u.searchParams.get("host") : null;
  u.searchParams.delete("host");
  const host = decodeURIComponent(u.hostname) || (socketDir ? "localhost" : env.PGHOST || "localhost");
  const port = u.port ? Number(u.port) : env.PGPORT ? Number(env.PGPORT) : DEFAULT_PORT;
  const masked = `postgres://${user}@${host}${port === DEFAULT_PORT ? "" : `:${port}`}/${database}`;
  if (u.password) {
    throw new SluiceError(
      `the URL ${masked} holds a password: anyone on this machine can read a command line; remove it and set PGPASSWORD or add a line to ~/.pgpass`,
      EXIT_USAGE,
    );
  }
  const password = env.PGPASSWORD ?? pgpassLookup(host, port, database, user, env);
  return { masked, host, port, database, user, socketDir, password, query: u.searchParams.toString() };
}

/** A URL as text with any password replaced: for the message that says the text is no URL. */
export function maskText(text: string): string {
  return text.replace(/(\/\/[^/@:]*:)[^@/]*@/, "$1***@");
}

/**
 * The password for this connection from the password file, as libpq reads it: lines of
 * host:port:database:user:password, `*` matching anything, `\:` and `\\` escaped, the first match
 * wins; a file that others may read is ignored (libpq warns and does the same).
 */
export function pgpassLookup(host: string, port: number, database: string, user: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const path = env.PGPASSFILE || join(homeDir(env), ".pgpass");
  let text: string;
  try {
    if ((statSync(path).mode & 0o077) !== 0) return null;
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const want = [host, String(port), database, user];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const fields = splitPgpass(line);
    if (fields.length < 5) continue;
    if (want.every((w, i) => fields[i] === "*" || fields[i] === w)) return fields.slice(4).join(":");
  }
  return null;
}

function splitPgpass(line: string): string[] {
  const fields: string[] = [];
  let cur = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && i + 1 < line.length) cur += line[++i];
    else if (c === ":" && fields.length < 4) {
      fields.push(cur);
      cur = "";
    } else cur += c;
  }
  fields.push(cur);
  return fields;
}
