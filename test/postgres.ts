// A real PostgreSQL for the push tests and bench/push.ts: a temporary cluster of Debian's
// `postgresql` package (initdb and pg_ctl from /usr/lib/postgresql/*/bin, which .ci/run installs),
// in a temp directory, on a free local port, with password authentication. Run as root, the
// server runs as an unprivileged user (PostgreSQL refuses root). Nothing is skipped: without the
// package, or if the server does not start, this throws and the tests fail.

import { SQL } from "bun";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PG_PASSWORD = "test-secret-9f3c";
export const PG_USER = "sluice";

/** The newest installed server's bin directory. */
export function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "pg_ctl"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error(`no PostgreSQL server in ${root}/*/bin: install Debian's postgresql package (.ci/run does)`);
  return join(root, versions[0]!, "bin");
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** As root: the command run as `nobody`, which can own the cluster's directory. */
function asServerUser(cmd: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "nobody", "--", ...cmd] : cmd;
}

function runSync(cmd: string[], what: string, log?: string) {
  const r = Bun.spawnSync(asServerUser(cmd), { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    const tail = log && existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-8).join(" | ") : "";
    throw new Error(`PostgreSQL: ${what} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()} ${r.stdout.toString().trim()} ${tail}`);
  }
}

export class TestPostgres {
  readonly bin = postgresBin();
  readonly dir: string;
  readonly data: string;
  readonly log: string;
  port = 0;

  constructor() {
    // as root, under /tmp: the server's user must reach its directory, and TMPDIR may be root's own
    this.dir = mkdtempSync(join(process.getuid?.() === 0 ? "/tmp" : tmpdir(), "sluice-pg-"));
    this.data = join(this.dir, "data");
    this.log = join(this.dir, "server.log");
    if (process.getuid?.() === 0) chownSync(this.dir, 65534, 65534);
    chmodSync(this.dir, 0o700);
  }

  async init(): Promise<this> {
    const pw = join(this.dir, "pw");
    writeFileSync(pw, PG_PASSWORD, { mode: 0o600 });
    if (process.getuid?.() === 0) chownSync(pw, 65534, 65534);
    runSync([join(this.bin, "initdb"), "-D", this.data, "-U", PG_USER, "--auth=scram-sha-256", `--pwfile=${pw}`, "-E", "UTF8", "--no-sync", "--no-instructions"], "initdb");
    rmSync(pw);
    this.port = await freePort();
    this.start();
    return this;
  }

  /** Starts the server and waits until it accepts connections. */
  start() {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
    runSync([join(this.bin, "pg_ctl"), "-D", this.data, "-l", this.log, "-o", opts, "-w", "-t", "30", "start"], "pg_ctl start", this.log);
  }

  /** Stops the server: `immediate` is a crash (no shutdown checkpoint), recovered at the next start. */
  stop(mode: "fast" | "immediate" = "fast") {
    runSync([join(this.bin, "pg_ctl"), "-D", this.data, "-m", mode, "-w", "-t", "30", "stop"], "pg_ctl stop", this.log);
  }

  /** postgres://sluice@127.0.0.1:PORT/DATABASE: no password, as sluice wants its URLs. */
  url(database: string): string {
    return `postgres://${PG_USER}@127.0.0.1:${this.port}/${database}`;
  }

  /** A connection for the test's own queries. */
  connect(database = "postgres"): SQL {
    return new SQL({ hostname: "127.0.0.1", port: this.port, username: PG_USER, password: PG_PASSWORD, database, max: 1 });
  }

  /** A new, empty database. */
  async createDatabase(name: string): Promise<string> {
    const admin = this.connect();
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.close();
    }
    return this.url(name);
  }

  destroy() {
    try {
      this.stop("immediate");
    } catch {}
    rmSync(this.dir, { recursive: true, force: true });
  }
}
