#!/usr/bin/env bun
// sluice: turns the JSONL logs of AI coding agents into one queryable SQLite database.
//
// This file only picks the entry point of the command named (src/cli/entry/<word>.ts, or root.ts
// for anything else) and loads it. build.ts builds each entry point into the executable on its
// own, and Bun loads an entry point's code only when it is imported, so a command pays at start
// for its own code and not for every command's (the MCP SDK alone is half of all of it). The path
// is built at run time so that the bundler does not pull the entry points into this one.

import { dirname, join } from "node:path";
import { COMMANDS } from "./cli/entry/commands";

import { VERSION } from "./runtime/version";

const GLOBAL_FLAGS = ["--no-color", "--debug"];
if (process.argv.length === 3 && (process.argv[2] === "--version" || process.argv[2] === "-v")) {
  console.log(VERSION);
  process.exit(0);
}
const word = process.argv.slice(2).find((w) => !GLOBAL_FLAGS.includes(w));
const entry = word !== undefined && (COMMANDS as readonly string[]).includes(word) ? word : "root";
await import(join(dirname(Bun.main), "cli", "entry", `${entry}.ts`));
