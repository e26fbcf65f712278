// `sluice index` on its own (src/main.ts, build.ts).
import index from "../index-cmd";
import { runCli } from "../run";

await runCli({ index });
