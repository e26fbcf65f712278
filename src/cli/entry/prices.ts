// `sluice prices` on its own (src/main.ts, build.ts).
import prices from "../prices";
import { runCli } from "../run";

await runCli({ prices });
