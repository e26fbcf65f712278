// `sluice ingest` on its own (src/main.ts, build.ts).
import ingest from "../ingest";
import { runCli } from "../run";

await runCli({ ingest });
