// Service units: the ones `sluice service install` writes and the ready-made ones in deploy/ are
// linted by systemd itself (any warning fails) and, for launchd, parsed and their keys checked.
// Installing as root needs --system and a user to run as.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, RUNNERS, run, tempDir } from "./helpers";

const tmp = tempDir("sluice-service-");
afterAll(() => tmp.cleanup());
const BIN = RUNNERS[1]!.cmd;
const linux = process.platform === "linux";
const isRoot = process.getuid?.() === 0;

/** systemd-analyze verify, in a scratch home so user units resolve; returns whatever it printed. */
function verifyUnit(unitFile: string, opts: { user: boolean; home: string }): string {
  const runtime = join(opts.home, "run");
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const r = Bun.spawnSync(["systemd-analyze", ...(opts.user ? ["--user"] : []), "--man=no", "verify", unitFile], {
    env: { ...process.env, HOME: opts.home, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return `${r.stdout.toString()}${r.stderr.toString()}`.trim() + (r.exitCode ? `\n(exit ${r.exitCode})` : "");
}

function haveSystemdAnalyze(): boolean {
  return Bun.spawnSync(["sh", "-c", "command -v systemd-analyze"]).exitCode === 0;
}

type Plist = string | number | boolean | Plist[] | { [k: string]: Plist };

/** A plist XML reader for the types a LaunchAgent uses; throws on anything it does not know. */
function parsePlist(text: string): Plist {
  const tokens = text
    .replace(/<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, "")
    .match(/<[^>]+>|[^<]+/g)!
    .filter((t) => t.trim() !== "");
  let i = 0;
  const expectTag = (tag: string) => {
    if (tokens[i++] !== tag) throw new Error(`plist: expected ${tag}, got ${tokens[i - 1]}`);
  };
  const text_ = (close: string) => {
    let s = "";
    if (tokens[i] !== close) s = tokens[i++]!;
    expectTag(close);
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  };
  const value = (): Plist => {
    const t = tokens[i++];
    switch (t) {
      case "<true/>": return true;
      case "<false/>": return false;
      case "<string>": return text_("</string>");
      case "<integer>": {
        const s = text_("</integer>");
        if (!/^-?\d+$/.test(s)) throw new Error(`plist: bad integer ${s}`);
        return Number(s);
      }
      case "<array>": {
        const a: Plist[] = [];
        while (tokens[i] !== "</array>") a.push(value());
        i++;
        return a;
      }
      case "<dict>": {
        const d: Record<string, Plist> = {};
        while (tokens[i] !== "</dict>") {
          expectTag("<key>");
          const k = text_("</key>");
          d[k] = value();
        }
        i++;
        return d;
      }
      default:
        throw new Error(`plist: unexpected ${t}`);
    }
  };
  expectTag('<plist version="1.0">');
  const v = value();
  expectTag("</plist>");
  if (i !== tokens.length) throw new Error("plist: trailing content");
  return v;
}

function checkAgent(p: Plist) {
  const d = p as Record<string, any>;
  expect(d.Label).toMatch(/^dev\.sluice\.(ingest|index|serve)$/);
  expect(Array.isArray(d.ProgramArguments)).toBe(true);
  expect(d.ProgramArguments.every((a: unknown) => typeof a === "string")).toBe(true);
  expect(d.ProgramArguments[0]).toMatch(/^\//);
  if (d.Label !== "dev.sluice.serve") expect(d.ProgramArguments.slice(1)).toContain("--follow");
  expect(d.RunAtLoad).toBe(true);
  expect(d.KeepAlive).toEqual({ SuccessfulExit: false });
  expect(typeof d.ThrottleInterval).toBe("number");
  expect(d.ExitTimeOut).toBeGreaterThan(2);
  expect(d.Umask).toBe(0o77);
  for (const k of ["StandardOutPath", "StandardErrorPath"]) expect(d[k]).toMatch(/\/Library\/Logs\/sluice\/[^/]+\.log$/);
  const known = new Set(["Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "ThrottleInterval", "ExitTimeOut", "ProcessType", "Umask", "StandardOutPath", "StandardErrorPath"]);
  expect(Object.keys(d).filter((k) => !known.has(k))).toEqual([]);
}

describe.skipIf(!linux)("systemd", () => {
  test("systemd-analyze is installed (.ci/run installs Debian's systemd package)", () => {
    expect(haveSystemdAnalyze()).toBe(true);
  });

  test("the lint catches a bad unit (so a clean result means something)", () => {
    const unit = join(tmp.dir, "bad.service");
    writeFileSync(unit, "[Service]\nType=simple\nExecStart=/bin/true\nBogusKey=1\n");
    expect(verifyUnit(unit, { user: true, home: join(tmp.dir, "home-bad") })).toContain("Unknown key 'BogusKey'");
  });

  test("the printed user unit passes systemd-analyze verify without a warning", async () => {
    const home = join(tmp.dir, "home-print");
    const r = await run(BIN, ["service", "install", "--input", join(tmp.dir, "logs dir", "sse_lines.jsonl"), "--db", join(tmp.dir, "100%.db"), "--print"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Type=simple");
    expect(r.stdout).toContain("Restart=on-failure");
    expect(r.stdout).not.toContain("MemoryDenyWriteExecute=");
    // absolute paths, quoted where they have a space, % escaped
    expect(r.stdout).toContain(`ExecStart=${BIN[0]} ingest "${join(tmp.dir, "logs dir", "sse_lines.jsonl")}" --follow --db ${join(tmp.dir, "100%%.db")}`);
    const unit = join(tmp.dir, "sluice.service");
    writeFileSync(unit, r.stdout);
    expect(verifyUnit(unit, { user: true, home })).toBe("");
  });

  test("--index adds the deep index's follower as a second unit; both pass the lint", async () => {
    const home = join(tmp.dir, "home-index");
    const r = await run(BIN, ["service", "install", "--index", "--input", "/tmp/in.jsonl", "--db", "/tmp/s.db", "--print"]);
    expect(r.code).toBe(0);
    const units = r.stdout.split(/\n(?=# Written by)/);
    expect(units.length).toBe(2);
    expect(units[1]).toContain(`ExecStart=${BIN[0]} index --follow --db /tmp/s.db`);
    units.forEach((text, i) => {
      const unit = join(tmp.dir, i ? "sluice-index.service" : "sluice.service");
      writeFileSync(unit, text);
      expect(verifyUnit(unit, { user: true, home })).toBe("");
    });
  });

  test("--push adds 'push URL --follow' as a unit of its own, the URL without a password; it passes the lint", async () => {
    const home = join(tmp.dir, "home-push");
    const r = await run(BIN, ["service", "install", "--index", "--push", "postgres://sluice@db.internal:5433/usage?sslmode=require", "--db", "/tmp/s.db", "--print"]);
    expect(r.code).toBe(0);
    const units = r.stdout.split(/\n(?=# Written by)/);
    expect(units.length).toBe(2);
    expect(units[1]).toContain(`ExecStart=${BIN[0]} push "postgres://sluice@db.internal:5433/usage?sslmode=require" --follow --db /tmp/s.db`);
    expect(units[1]).toContain("SyslogIdentifier=sluice-push");
    const unit = join(tmp.dir, "sluice-push.service");
    writeFileSync(unit, units[1]!);
    expect(verifyUnit(unit, { user: true, home })).toBe("");
    // written, and removed again with the others
    const dir = join(tmp.dir, "push-units");
    // (as root, a unit is a system unit for another user: CI runs as root)
    const as = isRoot ? ["--system", "--run-as", "daemon"] : [];
    expect((await run(BIN, ["service", "install", "--push", "postgres://sluice@db.internal/usage", "--db", "/tmp/s.db", "--unit-dir", dir, "--no-enable", ...as])).code).toBe(0);
    expect(existsSync(join(dir, "sluice-push.service"))).toBe(true);
    expect((await run(BIN, ["service", "uninstall", "--unit-dir", dir, "--no-enable", ...as])).code).toBe(0);
    expect(existsSync(join(dir, "sluice-push.service"))).toBe(false);
    // a password in the URL would be in a world-readable unit: refused
    const bad = await run(BIN, ["service", "install", "--push", "postgres://sluice:hunter2@db.internal/usage", "--print"]);
    expect([bad.code, bad.stdout, bad.stderr.trim().split("\n").length]).toEqual([2, "", 1]);
    expect(bad.stderr).toContain("holds a password");
    expect(bad.stderr).not.toContain("hunter2");
  });

  test("--serve adds the dashboard as a unit of its own that passes the lint; uninstall removes it", async () => {
    const home = join(tmp.dir, "home-serve");
    const r = await run(BIN, ["service", "install", "--index", "--serve", "--db", "/tmp/s.db", "--print"]);
    expect(r.code).toBe(0);
    const units = r.stdout.split(/\n(?=# Written by)/);
    expect(units.length).toBe(2);
    expect(units[1]).toContain(`ExecStart=${BIN[0]} serve --db /tmp/s.db`);
    expect(units[1]).toContain("SyslogIdentifier=sluice-serve");
    const unit = join(tmp.dir, "sluice-serve.service");
    writeFileSync(unit, units[1]!);
    expect(verifyUnit(unit, { user: true, home })).toBe("");
    const dir = join(tmp.dir, "serve-units");
    expect((await run(BIN, ["service", "install", "--serve", "--system", "--run-as", "daemon", "--db", "/tmp/s.db", "--unit-dir", dir, "--no-enable"])).code).toBe(0);
    expect(existsSync(join(dir, "sluice-serve.service"))).toBe(true);
    expect((await run(BIN, ["service", "uninstall", "--system", "--run-as", "daemon", "--unit-dir", dir, "--no-enable"])).code).toBe(0);
    expect(existsSync(join(dir, "sluice-serve.service"))).toBe(false);
  });

  test("deploy/sluice.service passes systemd-analyze verify without a warning", () => {
    const home = join(tmp.dir, "home-deploy");
    mkdirSync(join(home, ".local", "bin"), { recursive: true });
    symlinkSync(BIN[0]!, join(home, ".local", "bin", "sluice"));
    expect(verifyUnit(join(ROOT, "deploy", "sluice.service"), { user: true, home })).toBe("");
  });

  test.skipIf(!isRoot)("as root: refused without --system; --system writes a unit that runs as the named user", async () => {
    const dir = join(tmp.dir, "units");
    const input = join(tmp.dir, "in.jsonl");
    const refused = await run(BIN, ["service", "install", "--input", input, "--unit-dir", dir, "--no-enable"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("refusing to install a service as root");
    expect(existsSync(join(dir, "sluice.service"))).toBe(false);

    const noUser = await run(BIN, ["service", "install", "--system", "--input", input, "--unit-dir", dir, "--no-enable"], { env: { SUDO_USER: "" } });
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain("--run-as");

    const r = await run(BIN, ["service", "install", "--system", "--run-as", "daemon", "--input", input, "--unit-dir", dir, "--no-enable", "--json"]);
    expect(r.code).toBe(0);
    const path = join(dir, "sluice.service");
    expect(JSON.parse(r.stdout).unit).toBe(path);
    const text = readFileSync(path, "utf8");
    expect(text).toContain("User=daemon");
    expect(text).toContain("WantedBy=multi-user.target");
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(verifyUnit(path, { user: false, home: join(tmp.dir, "home-system") })).toBe("");

    const st = await run(BIN, ["service", "status", "--system", "--run-as", "daemon", "--unit-dir", dir, "--json"]);
    expect(JSON.parse(st.stdout).installed).toBe(true);
    const withIndex = await run(BIN, ["service", "install", "--index", "--system", "--run-as", "daemon", "--input", input, "--unit-dir", dir, "--no-enable"]);
    expect(withIndex.code).toBe(0);
    expect(existsSync(join(dir, "sluice-index.service"))).toBe(true);
    const un = await run(BIN, ["service", "uninstall", "--system", "--run-as", "daemon", "--unit-dir", dir, "--no-enable"]);
    expect(un.code).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(dir, "sluice-index.service"))).toBe(false);
  });
});

describe("launchd", () => {
  test("the printed LaunchAgent parses, with the keys and types launchd needs", async () => {
    const r = await run(BIN, ["service", "install", "--platform", "darwin", "--input", "/tmp/a & b/sse_lines.jsonl", "--db", "/tmp/s.db", "--print"]);
    expect(r.code).toBe(0);
    const agent = parsePlist(r.stdout) as Record<string, any>;
    checkAgent(agent);
    expect(agent.ProgramArguments.slice(-5)).toEqual(["ingest", "/tmp/a & b/sse_lines.jsonl", "--follow", "--db", "/tmp/s.db"]);
  });

  test("--index: a second LaunchAgent for the deep index's follower", async () => {
    const r = await run(BIN, ["service", "install", "--index", "--platform", "darwin", "--input", "/tmp/in.jsonl", "--db", "/tmp/s.db", "--print"]);
    const agents = r.stdout.split(/\n(?=<\?xml)/).map((t) => parsePlist(t) as Record<string, any>);
    expect(agents.map((a) => a.Label)).toEqual(["dev.sluice.ingest", "dev.sluice.index"]);
    expect(agents[1]!.ProgramArguments.slice(-4)).toEqual(["index", "--follow", "--db", "/tmp/s.db"]);
  });

  test("--serve: a LaunchAgent for the dashboard", async () => {
    const r = await run(BIN, ["service", "install", "--serve", "--platform", "darwin", "--db", "/tmp/s.db", "--print"]);
    const agent = parsePlist(r.stdout) as Record<string, any>;
    checkAgent(agent);
    expect(agent.Label).toBe("dev.sluice.serve");
    expect(agent.ProgramArguments.slice(-3)).toEqual(["serve", "--db", "/tmp/s.db"]);
  });

  test("deploy/dev.sluice.ingest.plist parses, with the same keys", () => {
    checkAgent(parsePlist(readFileSync(join(ROOT, "deploy", "dev.sluice.ingest.plist"), "utf8")));
  });

  test("the plist reader rejects what launchd would", () => {
    expect(() => parsePlist('<plist version="1.0"><dict><key>A</key><integer>x</integer></dict></plist>')).toThrow();
    expect(() => parsePlist('<plist version="1.0"><dict><string>A</string></dict></plist>')).toThrow();
  });
});
