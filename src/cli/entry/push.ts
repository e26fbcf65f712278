// `sluice push` on its own (src/main.ts, build.ts).
import push from "../push";
import { runCli } from "../run";

await runCli({ push });
