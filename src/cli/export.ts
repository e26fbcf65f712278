import { defineCommand } from "citty";
import { resolve } from "node:path";
import { exportSessions } from "../archive/export";
import { resolveSession, withSubagents } from "../archive/sessions";
import { openDatabase } from "../db/open";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { megabytes } from "../runtime/format";
import { log } from "../runtime/log";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { helpMeta } from "./help";
import { printResult } from "./output";

export default defineCommand({
  meta: helpMeta({
    name: "export",
    description: "Write archived agent logs back, byte for byte as the agent wrote them (also after the agent deleted them)",
    examples: [
      "sluice export 0d3a8e6f --to ~/saved        # a session (and its subagents), by its id or a prefix",
      "sluice export --all --to ~/agent-logs      # every archived file, in the agents' layout",
    ],
  }),
  args: {
    session: { type: "positional", description: "The session: the agent's session id, a prefix of it, or its key", required: false, valueHint: "session" },
    all: { type: "boolean", description: "Every archived file", default: false },
    to: { type: "string", description: "The directory to write into (default: the current one; required with --all)", valueHint: "dir" },
    ...dbArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.all === Boolean(args.session)) throw new SluiceError("name a session, or give --all (with --to DIR); see 'sluice export --help'", EXIT_USAGE);
    if (args.all && !args.to) throw new SluiceError("--all needs --to DIR: the directory to write every archived file into", EXIT_USAGE);
    const db = openDatabase(resolveDbPath(args.db), { readonly: true, currentSchema: true });
    try {
      const ids = args.all ? null : withSubagents(db, resolveSession(db, args.session!)).map((s) => s.id);
      const r = exportSessions(db, ids, resolve(args.to ?? "."));
      for (const m of r.missing) log.warn(`${m.source} (${m.session}): not in the archive (indexed with --no-archive, and no longer on disk)`);
      const bytes = r.files.reduce((a, f) => a + f.bytes, 0);
      const earlier = r.files.filter((f) => !f.latest).length;
      printResult(args.json, r, () => [
        ...(args.all ? [] : r.files.map((f) => f.path)),
        `exported ${r.files.length} files, ${megabytes(bytes, 1)} MB${earlier ? ` (${earlier} of them earlier generations of rewritten files)` : ""}`,
      ]);
    } finally {
      db.close();
    }
  },
});
