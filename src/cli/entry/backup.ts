// `sluice backup` on its own (src/main.ts, build.ts).
import backup from "../backup";
import { runCli } from "../run";

await runCli({ backup });
