// `sluice service` on its own (src/main.ts, build.ts).
import service from "../service";
import { runCli } from "../run";

await runCli({ service });
