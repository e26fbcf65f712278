// sluice with no command, --help, --version, or a word that names no command: all the commands.
import { ALL_COMMANDS } from "../commands";
import { runCli } from "../run";

await runCli(ALL_COMMANDS);
