// `sluice service`: runs `sluice ingest --follow` (with --index `sluice index --follow`, with --serve `sluice serve`) as user
// services, systemd user units on Linux and LaunchAgents on macOS, with absolute paths to this very binary. The unit text is built here;
// installing is writing it (to a temporary name, then renamed) and asking the service manager to
// load it.

import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SluiceError, EXIT_FAILURE, EXIT_USAGE } from "../runtime/errors";
import { VERSION } from "../runtime/version";
import { homeDir } from "../runtime/host";

export type Platform = "linux" | "darwin";

/** The long-running jobs: the live ingester, the deep index's follower, the push to a team store, and the dashboard. */
export type Job = "ingest" | "index" | "push" | "serve";
export const JOBS: Job[] = ["ingest", "index", "push", "serve"];

export interface ServiceSpec {
  job: Job;
  platform: Platform;
  /** The program and its leading words (the binary, or bun and the script), absolute. */
  command: string[];
  input: string;
  db: string;
  /** The team store `push --follow` sends to (no password: that comes from ~/.pgpass). */
  pushUrl: string;
  /** A system unit (Linux) that runs as `runAs` instead of a user unit. */
  system: boolean;
  runAs: string | null;
  home: string;
}

const UNIT_NAMES: Record<Job, string> = { ingest: "sluice.service", index: "sluice-index.service", push: "sluice-push.service", serve: "sluice-serve.service" };
const LAUNCHD_LABELS: Record<Job, string> = { ingest: "dev.sluice.ingest", index: "dev.sluice.index", push: "dev.sluice.push", serve: "dev.sluice.serve" };
/** The name its logs go by: the journal's identifier, the LaunchAgent's log files. */
const LOG_NAMES: Record<Job, string> = { ingest: "sluice", index: "sluice-index", push: "sluice-push", serve: "sluice-serve" };

function description(spec: ServiceSpec): string {
  if (spec.job === "ingest") return `sluice: ingest ${spec.input} into SQLite`;
  if (spec.job === "push") return `sluice: push the deep index to ${spec.pushUrl}`;
  if (spec.job === "serve") return "sluice: the local dashboard and /metrics (read-only, 127.0.0.1:7341)";
  return "sluice: keep the deep index of Claude Code and Codex logs current";
}
export const unitName = (spec: ServiceSpec) => UNIT_NAMES[spec.job];
export const launchdLabel = (spec: ServiceSpec) => LAUNCHD_LABELS[spec.job];

/** How long the service manager waits after SIGTERM: sluice commits and exits within 2 s. */
const STOP_TIMEOUT_S = 30;

export function jobArgs(spec: ServiceSpec): string[] {
  if (spec.job === "ingest") return [...spec.command, "ingest", spec.input, "--follow", "--db", spec.db];
  if (spec.job === "push") return [...spec.command, "push", spec.pushUrl, "--follow", "--db", spec.db];
  if (spec.job === "serve") return [...spec.command, "serve", "--db", spec.db];
  return [...spec.command, "index", "--follow", "--db", spec.db];
}

/** One word of ExecStart: quoted when it has to be; % and $ escaped, since systemd expands them. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_./:@+=,%-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  return `# Written by 'sluice service install' (sluice ${VERSION}); reinstalling overwrites it.
[Unit]
Description=${description(spec).replace(/%/g, "%%")}
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
ExecStart=${jobArgs(spec).map(systemdWord).join(" ")}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
# Exit code 2 is bad input (a database that is not sluice's, a bad flag): restarting cannot fix it.
RestartPreventExitStatus=2
TimeoutStopSec=${STOP_TIMEOUT_S}
UMask=0077
NoNewPrivileges=yes
# No MemoryDenyWriteExecute: Bun's JIT runs 2-3x slower under it.
StandardOutput=journal
StandardError=journal
SyslogIdentifier=${LOG_NAMES[spec.job]}
${spec.system ? `User=${spec.runAs}\n` : ""}
[Install]
WantedBy=${spec.system ? "multi-user.target" : "default.target"}
`;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function launchdLogDir(home: string): string {
  return join(home, "Library", "Logs", "sluice");
}

export function launchdPlist(spec: ServiceSpec): string {
  const logs = launchdLogDir(spec.home);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by 'sluice service install' (sluice ${xml(VERSION)}); reinstalling overwrites it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${launchdLabel(spec)}</string>
  <key>ProgramArguments</key>
  <array>
${jobArgs(spec).map((a) => `    <string>${xml(a)}</string>`).join("\n")}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>${STOP_TIMEOUT_S}</integer>
  <key>ProcessType</key>
  <string>Background</string>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${xml(join(logs, `${LOG_NAMES[spec.job]}.out.log`))}</string>
  <key>StandardErrorPath</key>
  <string>${xml(join(logs, `${LOG_NAMES[spec.job]}.log`))}</string>
</dict>
</plist>
`;
}

export function unitText(spec: ServiceSpec): string {
  return spec.platform === "darwin" ? launchdPlist(spec) : systemdUnit(spec);
}

/** Where the unit goes: `unitDir` when given (packagers, tests), else the platform's place. */
export function unitPath(spec: ServiceSpec, unitDir: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (spec.platform === "darwin") return join(unitDir ?? join(spec.home, "Library", "LaunchAgents"), `${launchdLabel(spec)}.plist`);
  if (unitDir) return join(unitDir, unitName(spec));
  if (spec.system) return join("/etc/systemd/system", unitName(spec));
  return join(env.XDG_CONFIG_HOME || join(spec.home, ".config"), "systemd", "user", unitName(spec));
}

/**
 * The spec for this machine and user. A service that reads people's logs runs as that person:
 * as root, only a system unit with another user to run as (--system --run-as) is accepted.
 */
export function serviceSpec(o: { job: Job; platform: Platform; command: string[]; input: string; db: string; pushUrl?: string; system: boolean; runAs: string | null; forWriting: boolean }): ServiceSpec {
  if (o.system && o.platform === "darwin") throw new SluiceError("--system is for Linux; on macOS sluice installs a LaunchAgent for the user", EXIT_USAGE);
  let runAs = o.runAs;
  if (o.system) {
    runAs ??= process.env.SUDO_USER ?? null;
    if (!runAs || runAs === "root") throw new SluiceError("a system unit runs sluice as an ordinary user: pass --run-as USER (the user whose logs it reads)", EXIT_USAGE);
  } else if (o.forWriting && process.getuid?.() === 0) {
    throw new SluiceError("refusing to install a service as root: sluice should run as the user whose logs it reads; run this as that user, or pass --system --run-as USER for a system unit", EXIT_USAGE);
  }
  return { job: o.job, platform: o.platform, command: o.command, input: resolve(o.input), db: resolve(o.db), pushUrl: o.pushUrl ?? "", system: o.system, runAs, home: homeDir() };
}

/** Writes the unit (temporary name, then rename); returns its path. */
export function writeUnit(spec: ServiceSpec, unitDir: string | null): string {
  const path = unitPath(spec, unitDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (spec.platform === "darwin") mkdirSync(launchdLogDir(spec.home), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, unitText(spec), { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, path);
  return path;
}

export function removeUnit(path: string): boolean {
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}

/** Runs a service-manager command; returns its output, or throws with what to do by hand. */
export function manage(argv: string[], unitPath: string, mustSucceed = true): { ok: boolean; output: string } {
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    if (!mustSucceed) return { ok: false, output: (err as Error).message };
    throw new SluiceError(`${argv[0]} is not available (${(err as Error).message}); the unit is at ${unitPath}: load it with your service manager`, EXIT_FAILURE);
  }
  const output = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`.trim();
  if (r.exitCode !== 0 && mustSucceed) {
    throw new SluiceError(`'${argv.join(" ")}' failed (${output.split("\n")[0] || `exit ${r.exitCode}`}); the unit is at ${unitPath}: fix the cause and run that command yourself`, EXIT_FAILURE);
  }
  return { ok: r.exitCode === 0, output };
}

/** The service manager commands that load, unload and query the unit. */
export function managerCommands(spec: ServiceSpec, path: string) {
  if (spec.platform === "darwin") {
    const domain = `gui/${userInfo().uid}`;
    return {
      // bootout first, so that a reinstall replaces a loaded agent; it fails when none is loaded
      load: [{ argv: ["launchctl", "bootout", `${domain}/${launchdLabel(spec)}`], optional: true }, { argv: ["launchctl", "bootstrap", domain, path], optional: false }],
      unload: [{ argv: ["launchctl", "bootout", `${domain}/${launchdLabel(spec)}`], optional: true }],
      reload: null,
      state: ["launchctl", "print", `${domain}/${launchdLabel(spec)}`],
    };
  }
  const ctl = spec.system ? ["systemctl"] : ["systemctl", "--user"];
  return {
    load: [{ argv: [...ctl, "daemon-reload"], optional: false }, { argv: [...ctl, "enable", "--now", unitName(spec)], optional: false }],
    // after the unit file is gone, daemon-reload forgets it
    unload: [{ argv: [...ctl, "disable", "--now", unitName(spec)], optional: true }],
    reload: [...ctl, "daemon-reload"],
    state: [...ctl, "is-active", unitName(spec)],
  };
}
