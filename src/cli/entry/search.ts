// `sluice search` on its own (src/main.ts, build.ts).
import search from "../search";
import { runCli } from "../run";

await runCli({ search });
