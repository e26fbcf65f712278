import { defineCommand } from "citty";
import { openDatabase } from "../db/open";
import { agentRoots, discover } from "../deep-index/discover";
import { indexFiles } from "../deep-index/indexer";
import { dbArg, jsonArg, printResult, resolveDbPath } from "./shared-args";

const list = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

export default defineCommand({
  meta: {
    name: "index",
    description: "Index Claude Code transcripts and Codex rollouts into sessions, turns, invocations and models, incrementally",
  },
  args: {
    claude: { type: "string", description: "Claude Code config or projects directories, comma-separated (default: $CLAUDE_CONFIG_DIR, else ~/.claude)", valueHint: "dirs" },
    codex: { type: "string", description: "Codex home or sessions directories, comma-separated (default: $CODEX_HOME, else ~/.codex)", valueHint: "dirs" },
    ...dbArg,
    ...jsonArg,
  },
  run({ args }) {
    const roots = agentRoots({ claude: list(args.claude), codex: list(args.codex) });
    const db = openDatabase(resolveDbPath(args.db), { create: true });
    try {
      const r = indexFiles(db, discover(roots));
      printResult(args.json, { ...r, roots }, () => [
        `indexed ${r.files} files (${r.added} new, ${r.appended} grown, ${r.reindexed} rewritten, ${r.skipped} unchanged): ${r.lines.toLocaleString("en-US")} lines, ` +
          `${(r.bytes / 1e6).toFixed(1)} MB in ${(r.ms / 1000).toFixed(2)} s (writes ${r.write_ms} ms); ${r.sessions} sessions, ${r.turns.toLocaleString("en-US")} turns in the index` +
          (r.malformed || r.unknown ? `; ${r.malformed} malformed and ${r.unknown} unknown lines skipped` : ""),
      ]);
    } finally {
      db.close();
    }
  },
});
