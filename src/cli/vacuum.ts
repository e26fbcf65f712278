import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { vacuumDatabase } from "../ops/vacuum";
import { mib as mb } from "../runtime/format";
import { dbArg, jsonArg, progressArg, resolveDbPath, wantProgress } from "./flags";
import { printResult } from "./output";

export default defineCommand({
  meta: helpMeta({
    name: "vacuum",
    description: "Give free pages back to the file system: incremental_vacuum, safe beside a running ingester; --full rebuilds the file",
    examples: ["sluice vacuum                                # beside a running ingester", "sluice vacuum --full                         # stop the ingester first"],
  }),
  args: {
    full: {
      type: "boolean",
      description: "Rebuild the whole file (needs the ingester stopped and free space for one copy); also converts a database made without auto_vacuum",
      default: false,
    },
    ...dbArg,
    ...jsonArg,
    ...progressArg,
  },
  async run({ args }) {
    const r = await vacuumDatabase(resolveDbPath(args.db), { full: args.full, progress: wantProgress(args.progress) });
    printResult(args.json, r, () => [
      `${r.mode === "full" ? "rebuilt" : "vacuumed"} ${r.db}: ${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)} in ${(r.ms / 1000).toFixed(1)} s` +
        (r.autoVacuumBefore !== r.autoVacuumAfter ? `; auto_vacuum ${r.autoVacuumBefore} -> ${r.autoVacuumAfter}` : ""),
      ...(r.advice ? [r.advice] : []),
    ]);
  },
});
