// `sluice report` on its own (src/main.ts, build.ts).
import report from "../report";
import { runCli } from "../run";

await runCli({ report });
