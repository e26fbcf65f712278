import { defineCommand } from "citty";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { count as n, plural, seconds } from "../runtime/format";
import { log } from "../runtime/log";
import { labelFlag } from "../team/device";
import { followPushes, runPush, type PushOptions } from "../team/push-loop";
import type { PushResult } from "../team/push";
import { storeUrl } from "../team/url";
import { config, envOrConfig } from "../runtime/config";
import { dbArg, intFlag, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printJson, printResult } from "./output";

/** What the tables are called in a line for a person: [one, many]. */
const NOUNS: Record<string, [string, string]> = {
  sessions: ["session", "sessions"], turns: ["call", "calls"], invocations: ["tool use", "tool uses"], agent_files: ["file", "files"],
  models: ["model", "models"], usage_buckets: ["usage bucket", "usage buckets"], flows: ["flow", "flows"],
};

function summary(r: PushResult): string {
  const sent = Object.entries(r.tables).filter(([, t]) => t.rows).map(([name, t]) => plural(t.rows, ...(NOUNS[name] ?? [name, name])));
  const replaced = Object.values(r.tables).filter((t) => t.how === "changes").reduce((a, t) => a + t.deleted, 0);
  const what = sent.length ? sent.join(", ") : replaced ? "no rows" : "nothing new since the last push";
  return `pushed ${what}${replaced ? ` (${plural(replaced, "row")} of the store replaced or removed)` : ""} to ${r.store} as device '${r.device}' ` +
    `(user ${r.user}) in ${seconds(r.ms, 2)}; the store holds this database through change ${n(r.through_seq)}`;
}

export default defineCommand({
  meta: helpMeta({
    name: "push",
    description: "Push the deep index to a team store in PostgreSQL, exactly once: what changed since the last push, keyed by this database's device id",
    examples: [
      "sluice push postgres://sluice@db.internal/usage          # once: what is new since the last push",
      "sluice push --follow postgres://sluice@db.internal/usage # keep pushing as the index grows",
      "PGPASSWORD=... sluice push postgres://me@localhost/usage --device laptop --user alice",
    ],
  }),
  args: {
    url: { type: "positional", description: "postgres://user@host[:port]/database (default: $SLUICE_PUSH_URL, else the config file's push.url); the password comes from PGPASSWORD or ~/.pgpass, never the URL", required: false, valueHint: "url" },
    device: { type: "string", description: "This database's device name in the store, kept for later pushes (default: $SLUICE_DEVICE, else the host name)", valueHint: "name", group: "input" },
    user: { type: "string", description: "Whose device it is, kept for later pushes (default: $SLUICE_USER, else the user name)", valueHint: "label", group: "input" },
    "with-archive": { type: "boolean", description: "Also send what people wrote (session summaries, first prompts); off: counts and metadata only (docs/team.md lists the columns)", default: false, group: "input" },
    adopt: { type: "boolean", description: "This database is a copy (a restored backup) of a device that pushed from elsewhere: carry that device on from here", default: false, group: "advanced" },
    "new-device": { type: "boolean", description: "This database is a copy of a device that pushed from elsewhere: push it as a device of its own", default: false, group: "advanced" },
    follow: { type: "boolean", description: "Keep pushing whenever the index changes; retries with backoff while the store is unreachable", default: false, group: "live" },
    "poll-ms": { type: "string", description: "Follow: how often to look for changes, in ms (default 1000)", valueHint: "ms", group: "live" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.adopt && args["new-device"]) throw new SluiceError("--adopt and --new-device answer the same question two ways; give one", EXIT_USAGE);
    const opts: PushOptions = {
      dbPath: resolveDbPath(args.db),
      url: storeUrl(args.url ?? envOrConfig("SLUICE_PUSH_URL", config().push?.url)),
      withArchive: args["with-archive"],
      adopt: args.adopt,
      newDevice: args["new-device"],
      name: labelFlag("device", args.device ?? envOrConfig("SLUICE_DEVICE", config().push?.device)),
      user: labelFlag("user", args.user ?? envOrConfig("SLUICE_USER", config().push?.user)),
    };
    if (args.follow) {
      const pollMs = intFlag("poll-ms", args["poll-ms"], 1000, 10);
      log.info(`pushing ${opts.dbPath} to ${opts.url.masked} as the index changes (every ${pollMs} ms at most); SIGTERM or Ctrl-C stops`);
      await followPushes({ ...opts, pollMs, onPush: (r) => (args.json ? printJson(r) : log.info(summary(r))) }, log);
      return;
    }
    const r = await runPush(opts, log);
    printResult(args.json, r, () => [summary(r)]);
  },
});
