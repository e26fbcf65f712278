// `sluice check` on its own (src/main.ts, build.ts).
import check from "../check";
import { runCli } from "../run";

await runCli({ check });
