// `sluice vacuum` on its own (src/main.ts, build.ts).
import vacuum from "../vacuum";
import { runCli } from "../run";

await runCli({ vacuum });
