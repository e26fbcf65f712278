import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { backupDatabase } from "../ops/backup";
import { mib as mb } from "../runtime/format";
import { dbArg, jsonArg, progressArg, resolveDbPath, wantProgress } from "./flags";
import { printResult } from "./output";

export default defineCommand({
  meta: helpMeta({
    name: "backup",
    description: "Write a consistent, integrity-checked copy of the database (mode 0600) while the ingester runs",
    examples: ["sluice backup ~/backups/sluice-$(date +%F).db", "sluice backup /mnt/nas/sluice.db --force"],
  }),
  args: {
    target: { type: "positional", description: "The backup file to write", required: true, valueHint: "file" },
    force: { type: "boolean", description: "Replace the target if it exists", default: false },
    ...dbArg,
    ...jsonArg,
    ...progressArg,
  },
  async run({ args }) {
    const r = await backupDatabase(resolveDbPath(args.db), args.target, { force: args.force, progress: wantProgress(args.progress) });
    printResult(args.json, r, () => [
      `backed up ${r.db} to ${r.target}: ${mb(r.bytes)} in ${(r.ms / 1000).toFixed(1)} s, integrity ok${r.checkpointed ? "" : " (the WAL could not be checkpointed first: a reader held it; the copy includes it)"}`,
    ]);
  },
});
