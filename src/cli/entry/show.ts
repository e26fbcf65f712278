// `sluice show` on its own (src/main.ts, build.ts).
import show from "../show";
import { runCli } from "../run";

await runCli({ show });
