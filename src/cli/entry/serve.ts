// `sluice serve` on its own (src/main.ts, build.ts).
import serve from "../serve";
import { runCli } from "../run";

await runCli({ serve });
