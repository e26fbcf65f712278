#!/usr/bin/env bun
// sluice: turns the JSONL logs of AI coding agents into one queryable SQLite database.
//
// This file only picks the entry point of the command named (src/cli/entry/<word>.ts, or root.ts
// for anything else) and loads it. build.ts builds each entry point into the executable on its
// own, and Bun loads an entry point's code only when it is imported, so a command pays at start
// for its own code and not for every command's (the MCP SDK alone is half of all of it). The path
// is built at run time so that the bundler does not pull the entry points into this one.

import { dirname, join } from "node:path";
import { COMMANDS, GLOBAL_FLAGS } from "./cli/entry/commands";
import { VERSION } from "./runtime/version";

const words = process.argv.slice(2).filter((w) => !Object.hasOwn(GLOBAL_FLAGS, w));
// --version needs no command's code at all
if (words.length === 1 && (words[0] === "--version" || words[0] === "-v")) {
  console.log(VERSION);
  process.exit(0);
}
const word = words[0]?.startsWith("-") ? undefined : words[0];
const entry = word !== undefined && (COMMANDS as readonly string[]).includes(word) ? word : "root";
await import(join(dirname(Bun.main), "cli", "entry", `${entry}.ts`));
