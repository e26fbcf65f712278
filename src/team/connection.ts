// The connection to the team store (Bun's built-in PostgreSQL client), and PostgreSQL's failures
// said in one line each, with the exit code sluice gives such things elsewhere: 1 for a failure
// that running again can cure (the server down, restarting, out of disk, the connection lost), 2
// for one that needs a person (a wrong password, no such database, no permission, a newer schema).

import type { SQL } from "bun";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import type { StoreUrl } from "./url";

/** Seconds to wait for the server to answer a connection attempt. */
const CONNECT_TIMEOUT_S = 10;

export function connectStore(url: StoreUrl): SQL {
  const query = url.query ? `?${url.query}` : "";
  // Bun.SQL, read here and not imported: an import is hoisted into every command that bundles this
  // file, and reading it loads Bun's PostgreSQL client (5 ms of a report's start)
  return new Bun.SQL(`postgres://${encodeURIComponent(url.user)}@${url.host}:${url.port}/${encodeURIComponent(url.database)}${query}`, {
    username: url.user,
    database: url.database,
    // an empty password, not none: Bun would otherwise look for one in the environment's URLs
    password: url.password ?? "",
    ...(url.socketDir ? { path: url.socketDir } : {}),
    max: 1,
    connectionTimeout: CONNECT_TIMEOUT_S,
    idleTimeout: 0,
    connection: { application_name: "sluice" },
  });
}

/** Why sluice could not do what it was doing with the store, as a SluiceError with its exit code. */
export function describePgError(err: unknown, url: StoreUrl, doing: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as { code?: string; errno?: string; message?: string };
  const detail = scrub(String(e?.message ?? err), url);
  const at = url.masked;
  const state = e?.errno ?? "";
  const again = doing === "pushing" ? "nothing of this push was kept; run it again" : "run it again";
  switch (state) {
    case "28P01":
    case "28000":
      return new SluiceError(`PostgreSQL at ${at} refused user ${url.user} (${detail}); check PGPASSWORD or ~/.pgpass and the server's pg_hba.conf`, EXIT_USAGE);
    case "3D000":
      return new SluiceError(`PostgreSQL at ${at}: database "${url.database}" does not exist; create it (createdb ${url.database}) or fix the URL`, EXIT_USAGE);
    case "42501":
      return new SluiceError(`PostgreSQL at ${at}: user ${url.user} lacks a permission (${detail}); grant it CREATE on the database, or have its owner run the first push`, EXIT_USAGE);
    case "53100":
      return new SluiceError(`PostgreSQL at ${at} is out of disk space (${detail}) while sluice was ${doing}; ${again} once the server has room`, EXIT_FAILURE);
    case "57P01":
    case "57P02":
    case "57P03":
      return new SluiceError(`PostgreSQL at ${at} is shutting down or starting up (${detail}) while sluice was ${doing}; ${again}`, EXIT_FAILURE);
  }
  if (e?.code === "ERR_POSTGRES_CONNECTION_REFUSED" || e?.code === "ERR_POSTGRES_CONNECTION_FAILED" || e?.code === "ERR_POSTGRES_CONNECTION_TIMEOUT") {
    return new SluiceError(`cannot reach PostgreSQL at ${at} (${detail}); is it running, and is the URL right?${doing === "pushing" ? " Nothing was pushed" : ""}`, EXIT_FAILURE);
  }
  if (e?.code === "ERR_POSTGRES_CONNECTION_CLOSED" || e?.code === "ERR_POSTGRES_IDLE_TIMEOUT" || /connection (closed|terminated|reset)/i.test(detail)) {
    return new SluiceError(`the connection to PostgreSQL at ${at} was lost while sluice was ${doing} (${detail}); ${again}`, EXIT_FAILURE);
  }
  if (e?.code === "ERR_POSTGRES_TLS_NOT_AVAILABLE") {
    return new SluiceError(`PostgreSQL at ${at} does not offer TLS, which the URL asks for (${detail}); fix sslmode in the URL`, EXIT_USAGE);
  }
  const code = state ? ` (SQLSTATE ${state})` : e?.code ? ` (${e.code})` : "";
  return new SluiceError(`PostgreSQL at ${at} failed while sluice was ${doing}: ${detail}${code}; ${again}`, EXIT_FAILURE);
}

/** True for a failure that waiting cures: `push --follow` retries those, and stops at the others. */
export function retryable(err: SluiceError): boolean {
  return err.exitCode === EXIT_FAILURE;
}

/** A server message on one line, with the password (should it ever be quoted back) taken out. */
function scrub(message: string, url: StoreUrl): string {
  let m = message.split("\n")[0]!;
  if (url.password) m = m.split(url.password).join("***");
  return m;
}
