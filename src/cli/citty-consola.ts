// What the executable gives citty in place of consola (build.ts). citty imports consola's full
// entry and consola/utils for the usage text and the error lines of its runMain, and sluice uses
// neither: cli/help.ts renders the help, cli/run.ts the errors. Loading them made a default
// consola on process.stdout, an Intl.Segmenter and node:tty's checks, about 20 ms of every
// command's start (docs/benchmarks.md, "Start-up"). Running from source, citty gets the real ones.
import { log } from "../runtime/log";

export default log;
export const consola = log;

/** consola/utils' colours, as citty's usage text would call them: plain text. */
export const colors: Record<string, (s: string) => string> = new Proxy({}, { get: () => (s: string) => s });
