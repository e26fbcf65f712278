import { defineCommand } from "citty";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { tmpdir } from "node:os";
import { log } from "../runtime/log";
import { releaseStartupPages } from "../runtime/page-release";
import { App } from "../server/app";
import { isLoopback, readToken } from "../server/auth";
import { dbArg, intFlag, resolveDbPath } from "./flags";
import { helpMeta } from "./help";

export default defineCommand({
  meta: helpMeta({
    name: "serve",
    description: "A local dashboard (spend, sessions, models and latency, tools, health; live) and /metrics for Prometheus, read-only",
    examples: [
      "sluice serve                                    # http://127.0.0.1:7341",
      "sluice serve --host 0.0.0.0 --token-file ~/.config/sluice/token",
      "curl -s localhost:7341/metrics",
    ],
  }),
  args: {
    host: { type: "string", description: "Address to listen on (default 127.0.0.1; any other needs --token-file)", valueHint: "addr", group: "input" },
    port: { type: "string", description: "Port (default 7341; 0 picks a free one)", valueHint: "port", group: "input" },
    "token-file": { type: "string", description: "A file holding the token every request must bring (Authorization: Bearer, or a login that sets a cookie)", valueHint: "file", group: "input" },
    "allow-host": { type: "string", description: "Another name the server may be reached by (Host header), comma-separated", valueHint: "names", group: "advanced" },
    ...dbArg,
  },
  async run({ args }) {
    const host = args.host ?? "127.0.0.1";
    const port = intFlag("port", args.port, 7341);
    if (port > 65535) throw new SluiceError(`--port ${port}: use 0 to 65535`, EXIT_USAGE);
    const token = args["token-file"] ? readToken(args["token-file"]) : null;
    if (!isLoopback(host) && token === null) {
      throw new SluiceError(`--host ${host} would let other machines read your logs: give --token-file FILE (openssl rand -hex 32 > FILE), or keep the default 127.0.0.1`, EXIT_USAGE);
    }
    const app = new App({ dbPath: resolveDbPath(args.db), host, port, token, allowHosts: (args["allow-host"] ?? "").split(",").map((s) => s.trim()).filter(Boolean) });
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = Bun.serve({ hostname: host, port, idleTimeout: 30, fetch: (req, srv) => app.fetch(req, srv) });
    } catch (err) {
      app.stop();
      throw new SluiceError(`cannot listen on ${host}:${port}: ${(err as Error).message}; pick another --port`, EXIT_USAGE);
    }
    const shown = host.includes(":") ? `[${host}]` : host;
    log.info(`serving ${resolveDbPath(args.db)} read-only on http://${shown}:${server.port}/${token ? " (token required)" : ""}`);
    releasePages();
    const idle = releaseWhenIdle(app);
    await new Promise<void>((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
    });
    clearInterval(idle);
    server.stop(true);
    app.stop();
  },
});

/** A server idle this long gives its pages back again (once, until the next request). */
const IDLE_RELEASE_MS = 30_000;

/**
 * Serving faults much of the executable back in (the reports' code, the JIT's tiers: about 30 MB);
 * a dashboard is idle between a few page views and a scrape a minute, so the pages go back once
 * the server has been idle IDLE_RELEASE_MS. The next request faults in what it runs, from the page
 * cache: a few ms once, never while requests keep coming.
 */
function releaseWhenIdle(app: App): ReturnType<typeof setInterval> {
  let releasedAfter = -1;
  const timer = setInterval(() => {
    const last = app.lastRequestAt;
    if (last === releasedAfter || performance.now() - last < IDLE_RELEASE_MS) return;
    releasedAfter = last;
    releasePages();
  }, IDLE_RELEASE_MS / 3);
  timer.unref();
  return timer;
}

/**
 * Gives back the executable's pages that only startup touched (runtime/page-release.ts): about
 * 30 MB of file-backed RSS, of which serving faults back what it runs. The extension is written to
 * the temp directory only, never beside the database, which the server leaves alone.
 */
function releasePages() {
  const r = releaseStartupPages([tmpdir()]);
  const mb = (b: number) => (b / 1048576).toFixed(1);
  if (r.released) log.debug(`released the start-up pages of the executable: file-backed RSS ${mb(r.beforeBytes)} -> ${mb(r.afterBytes)} MB`);
  else log.debug(`start-up pages not released: ${r.reason}`);
}
