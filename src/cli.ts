#!/usr/bin/env bun
// sluice: turns the JSONL logs of AI coding agents into one queryable SQLite database.
import { defineCommand, runMain } from "citty";
import { SluiceError, EXIT_FAILURE } from "./errors";
import { log } from "./log";
import { VERSION } from "./version";

const main = defineCommand({
  meta: { name: "sluice", version: VERSION, description: "Turn the JSONL logs of AI coding agents into one SQLite database, exactly once." },
  subCommands: {
    ingest: () => import("./cli/ingest").then((m) => m.default),
  },
});

try {
  await runMain(main);
} catch (err) {
  fail(err);
}

function fail(err: unknown): never {
  if (err instanceof SluiceError) {
    log.error(err.message);
    process.exit(err.exitCode);
  }
  log.error(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(EXIT_FAILURE);
}
