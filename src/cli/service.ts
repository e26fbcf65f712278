import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { existsSync } from "node:fs";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { selfCommand } from "../runtime/exec-self";
import { JOBS, manage, managerCommands, removeUnit, serviceSpec, unitPath, unitText, writeUnit, type Job, type Platform } from "../ops/service";
import { storeUrl } from "../team/url";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { printResult } from "./output";
import { writeOut } from "../runtime/stdio";

const placementArgs = {
  system: { type: "boolean", description: "Linux: a system unit in /etc/systemd/system that runs as --run-as, instead of a user unit", default: false },
  "run-as": { type: "string", description: "With --system: the user the service runs as (default: $SUDO_USER; never root)", valueHint: "user" },
  "unit-dir": { type: "string", description: "Write the unit into this directory instead of the platform's (for packagers)", valueHint: "dir" },
  platform: { type: "string", description: "Unit for this platform: linux (systemd) or darwin (launchd); default: this machine's", valueHint: "linux|darwin" },
} as const;

function platformOf(arg: string | undefined): Platform {
  const p = arg ?? (process.platform === "darwin" ? "darwin" : "linux");
  if (p !== "linux" && p !== "darwin") throw new SluiceError(`--platform ${p} is not known; use linux or darwin`, EXIT_USAGE);
  return p;
}

function specFrom(args: Record<string, any>, forWriting: boolean, job: Job = "ingest") {
  return serviceSpec({
    job,
    platform: platformOf(args.platform), command: selfCommand(), input: inputOf(args) ?? "", db: resolveDbPath(args.db), pushUrl: pushUrlOf(args),
    system: args.system, runAs: args["run-as"] ?? null, forWriting,
  });
}

/** The capture file, named as \`ingest\` names it (a word), or with --input as before. */
const inputOf = (args: Record<string, any>): string | undefined => args.file ?? args.input;

/**
 * --push: the store's URL as `push` takes it, checked now (a password in it is refused: the unit
 * is world-readable, so the service reads the password from ~/.pgpass); written masked.
 */
function pushUrlOf(args: Record<string, any>): string {
  if (args.push === undefined) return "";
  const url = storeUrl(args.push);
  return url.query ? `${url.masked}?${url.query}` : url.masked;
}

/** The services to install: the capture tail for a file, the index follower with --index, the push with --push; any of them together. */
function jobsOf(args: Record<string, any>): Job[] {
  const jobs: Job[] = inputOf(args) === undefined ? [] : ["ingest"];
  if (args.index) jobs.push("index");
  if (args.push !== undefined) jobs.push("push");
  if (args.serve) jobs.push("serve");
  if (!jobs.length) throw new SluiceError("name the sse_lines.jsonl file the service follows ('sluice service install FILE'), or pass --index (the deep-index follower), --push URL (the push to a team store) or --serve (the dashboard)", EXIT_USAGE);
  return jobs;
}

const STARTED: Record<Job, (s: { input: string; pushUrl: string }) => string> = {
  ingest: (s) => `the capture follows ${s.input}`,
  index: () => "the index follower keeps the deep index current",
  push: (s) => `the deep index is pushed to ${s.pushUrl} as it grows`,
  serve: () => "the dashboard serves http://127.0.0.1:7341/",
};

const install = defineCommand({
  meta: helpMeta({
    name: "install",
    description: "Install and start 'sluice ingest FILE --follow' (with --index, 'sluice index --follow'; --push URL, 'sluice push URL --follow'; --serve, 'sluice serve') as services of this user (systemd user units, or LaunchAgents)",
    examples: [
      "sluice service install ~/capture/sse_lines.jsonl", "sluice service install ~/capture/sse_lines.jsonl --index",
      "sluice service install --index        # the deep-index follower alone", "sluice service install --index --serve   # the follower and the dashboard",
      "sluice service install --index --push postgres://sluice@db.internal/usage",
    ],
  }),
  args: {
    file: { type: "positional", description: "The sse_lines.jsonl file the capture service follows", required: false, valueHint: "file" },
    input: { type: "string", description: "The same file, as a flag (the form before 0.2)", valueHint: "file" },
    index: { type: "boolean", description: "Install 'sluice index --follow', which keeps the deep index current (alone, or as a second unit beside the capture)", default: false },
    push: { type: "string", description: "Install 'sluice push URL --follow': the deep index into a team store as it grows (the password from ~/.pgpass)", valueHint: "postgres-url" },
    serve: { type: "boolean", description: "Install 'sluice serve', the read-only dashboard and /metrics on 127.0.0.1:7341 (alone, or beside the others)", default: false },
    print: { type: "boolean", description: "Print the unit instead of installing it", default: false },
    enable: { type: "boolean", description: "Only write the unit: do not load or start it", default: true },
    ...placementArgs,
    ...dbArg,
    ...jsonArg,
  },
  run({ args }) {
    const specs = jobsOf(args).map((job) => specFrom(args, !args.print, job));
    if (args.print) {
      writeOut(specs.map(unitText).join("\n"));
      return;
    }
    const units = specs.map((spec) => {
      const path = writeUnit(spec, args["unit-dir"] ?? null);
      const cmds = managerCommands(spec, path);
      if (args.enable) for (const c of cmds.load) manage(c.argv, path, !c.optional);
      return { path, load: cmds.load.map((c) => c.argv.join(" ")).join(" && ") };
    });
    const spec = specs[0]!;
    printResult(args.json, { unit: units[0]!.path, units: units.map((u) => u.path), enabled: args.enable, input: spec.input, db: spec.db }, () => [
      ...units.map((u) => `wrote ${u.path}`),
      args.enable
        ? `${specs.length === 1 ? "service" : "services"} started: ${specs.map((s) => STARTED[s.job](s)).join("; ")}, with ${spec.db}; see 'sluice status' and 'sluice service status'`
        : `not started (--no-enable); load with: ${units.map((u) => u.load).join(" && ")}`,
    ]);
  },
});

const uninstall = defineCommand({
  meta: { name: "uninstall", description: "Stop the service and remove its unit (the database stays)" },
  args: { enable: { type: "boolean", description: "Only remove the file: do not stop or unload the service", default: true }, ...placementArgs, ...jsonArg },
  run({ args }) {
    const results = JOBS.map((job) => {
      const spec = specFrom(args, false, job);
      const path = unitPath(spec, args["unit-dir"] ?? null);
      const cmds = managerCommands(spec, path);
      if (args.enable && existsSync(path)) for (const c of cmds.unload) manage(c.argv, path, !c.optional);
      const removed = removeUnit(path);
      if (args.enable && removed && cmds.reload) manage(cmds.reload, path, false);
      return { unit: path, removed };
    });
    printResult(args.json, { unit: results[0]!.unit, removed: results[0]!.removed, units: results }, () =>
      results.filter((r) => r.removed || r === results[0]).map((r) => (r.removed ? `removed ${r.unit}; the database is kept` : `no unit at ${r.unit}; nothing to remove`)),
    );
  },
});

const status = defineCommand({
  meta: { name: "status", description: "Whether the unit is installed and running" },
  args: { ...placementArgs, ...jsonArg },
  run({ args }) {
    const units = JOBS.map((job) => {
      const spec = specFrom(args, false, job);
      const path = unitPath(spec, args["unit-dir"] ?? null);
      const installed = existsSync(path);
      const state = installed ? manage(managerCommands(spec, path).state, path, false) : { ok: false, output: "not installed" };
      const summary = spec.platform === "darwin" ? (state.ok ? "loaded" : "not loaded") : state.output.split("\n")[0] || "unknown";
      return { job, unit: path, installed, state: installed ? summary : "not installed" };
    });
    printResult(args.json, { ...units[0], units }, () => units.filter((u) => u.installed || u.job === "ingest").map((u) => `${u.job.padEnd(7)} ${u.unit}: ${u.state}`));
  },
});

export default defineCommand({
  meta: { name: "service", description: "Run the live ingester as a service: install, uninstall, status" },
  subCommands: { install, uninstall, status },
});
