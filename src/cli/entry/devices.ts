// `sluice devices` on its own (src/main.ts, build.ts).
import devices from "../devices";
import { runCli } from "../run";

await runCli({ devices });
