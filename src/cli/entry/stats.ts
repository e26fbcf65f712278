// `sluice stats` on its own (src/main.ts, build.ts).
import stats from "../stats";
import { runCli } from "../run";

await runCli({ stats });
