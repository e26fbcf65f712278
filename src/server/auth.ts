// Who may ask: the token (a bearer header, or a cookie set by a one-time login), compared in
// constant time; the Host header, checked against DNS rebinding; and the headers every answer
// carries (a strict Content-Security-Policy with no inline script, no CORS).

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { hostName } from "../runtime/host";

export const COOKIE = "sluice_session";

/** Whether an address to bind to (or a Host name) stays on this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The token in a file: its first line, at least 16 characters. */
export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SluiceError(`--token-file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}; write a long random token into it (openssl rand -hex 32 > ${file})`, EXIT_USAGE);
  }
  const token = text.split("\n")[0]!.trim();
  if (token.length < 16) throw new SluiceError(`--token-file ${file}: the token is ${token.length} characters; use at least 16 (openssl rand -hex 32 > ${file})`, EXIT_USAGE);
  return token;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Checks a token and keeps the logged-in browsers' cookies; with no token, everyone is let in. */
export class Gate {
  private readonly want: Buffer | null;
  private readonly sessions = new Set<string>();

  constructor(token: string | null) {
    this.want = token === null ? null : digest(token);
  }

  get open(): boolean {
    return this.want === null;
  }

  /** Constant time: both sides are hashed to the same length first. */
  tokenMatches(given: string): boolean {
    return this.want !== null && timingSafeEqual(digest(given), this.want);
  }

  /** A new session for a browser that gave the token: the cookie's value. */
  login(): string {
    if (this.sessions.size >= 1000) this.sessions.delete(this.sessions.values().next().value!);
    const id = randomBytes(32).toString("hex");
    this.sessions.add(id);
    return id;
  }

  allows(req: Request): boolean {
    if (this.want === null) return true;
    const auth = req.headers.get("authorization");
    if (auth?.startsWith("Bearer ")) return this.tokenMatches(auth.slice(7).trim());
    const cookie = cookieOf(req, COOKIE);
    if (cookie === null) return false;
    // a session id is random: looking it up leaks nothing an attacker can use
    return this.sessions.has(cookie);
  }
}

export function cookieOf(req: Request, name: string): string | null {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return null;
}

/**
 * The names a browser may use to reach this server: on loopback, only loopback names (a page on
 * another site that rebinds its name to 127.0.0.1 is refused); on another address, that address,
 * this machine's name and addresses, and the names given with --allow-host.
 */
export function hostChecker(bind: string, extra: string[]): (req: Request) => boolean {
  const names = new Set<string>([bind.toLowerCase(), ...extra.map((x) => x.toLowerCase())]);
  if (!isLoopback(bind)) {
    names.add(hostName().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
  }
  return (req) => {
    const host = req.headers.get("host");
    if (!host) return false;
    const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
    return isLoopback(name) || names.has(name.toLowerCase());
  };
}

/** Headers on every answer: nothing runs but our own script, nothing frames us, nothing is cached. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};
