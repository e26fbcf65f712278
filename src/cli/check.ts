import { defineCommand } from "citty";
import { helpMeta } from "./help";
import { EXIT_FAILURE } from "../runtime/errors";
import { checkDeepIndexInvariants } from "../deep-index/invariants";
import { checkCaptureInvariants } from "../ingest/invariants";
import { checkDatabase } from "../ops/check";
import { count, plural } from "../runtime/format";
import { dbArg, jsonArg, resolveDbPath } from "./flags";
import { printResult } from "./output";

export default defineCommand({
  meta: helpMeta({
    name: "check",
    description: "Check the database: SQLite's quick_check (--full: integrity_check) and sluice's invariants. Exit 0 when healthy, 1 when not",
    examples: ["sluice check", "sluice check --full                          # every index too; slower"],
  }),
  args: {
    full: { type: "boolean", description: "Run integrity_check instead of quick_check (reads every index too; slower)", default: false },
    ...dbArg,
    ...jsonArg,
  },
  run({ args }) {
    const r = checkDatabase(resolveDbPath(args.db), args.full, [checkCaptureInvariants, checkDeepIndexInvariants]);
    printResult(args.json, r, () =>
      r.ok
        ? [`ok: ${r.kind}_check passed and sluice's invariants hold (${plural(r.rows, "row")} from ${plural(r.sources, "source")}, ${(r.ms / 1000).toFixed(1)} s)`]
        : [
            `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} in ${r.db}:`, ...r.problems.map((p) => `  - ${p}`),
            // only SQLite's own verdict is damage; sluice's invariants name their repair each
            ...(r.problems.some((p) => p.startsWith("SQLite")) ? ["SQLite found damage: restore a backup ('sluice backup' makes them), or move the database aside and ingest again"] : []),
          ],
    );
    if (!r.ok) process.exitCode = EXIT_FAILURE;
  },
});
