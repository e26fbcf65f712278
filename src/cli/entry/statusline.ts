// `sluice statusline` on its own (src/main.ts, build.ts).
import statusline from "../statusline";
import { runCli } from "../run";

await runCli({ statusline });
