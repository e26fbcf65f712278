// `sluice status` on its own (src/main.ts, build.ts).
import status from "../status";
import { runCli } from "../run";

await runCli({ status });
