// `sluice mcp` on its own (src/main.ts, build.ts).
import mcp from "../mcp";
import { runCli } from "../run";

await runCli({ mcp });
