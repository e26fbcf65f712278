// `sluice export` on its own (src/main.ts, build.ts).
import exportCommand from "../export";
import { runCli } from "../run";

await runCli({ export: exportCommand });
