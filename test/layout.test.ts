// The layout's one rule, checked on the source itself: imports flow downward only, from the
// surfaces (cli) through the read side and operations to the pipelines, the shared store, input
// and extraction, and the runtime helpers. CONTRIBUTING.md draws the same map.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./helpers";

const SRC = join(ROOT, "src");

/** Which folders each folder of src/ may import from (besides itself). */
const MAY_IMPORT: Record<string, string[]> = {
  "main.ts": ["cli", "runtime"],
  cli: ["server", "report", "ops", "team", "ingest", "deep-index", "archive", "db", "input", "extract", "runtime", "native"],
  // the dashboard, a surface beside cli: the reports as report/request.ts builds them for both
  server: ["report", "archive", "ops", "db", "runtime"],
  report: ["archive", "deep-index", "db", "runtime"],
  ops: ["db", "input", "extract", "runtime", "native"],
  team: ["db", "runtime"],
  ingest: ["db", "input", "extract", "runtime", "native"],
  "deep-index": ["archive", "db", "input", "extract", "runtime", "native"],
  archive: ["db", "runtime"],
  db: ["runtime", "native"],
  input: ["runtime"],
  extract: ["runtime"],
  runtime: ["native"],
  native: [],
  types: [],
};

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/** The top-level room of a path under src/ ("cli", "db", "main.ts"), or null outside src/. */
function roomOf(path: string): string | null {
  const rel = relative(SRC, path);
  return rel.startsWith("..") ? null : rel.split("/")[0]!;
}

/** Every relative import of a file: static, dynamic and type-only. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => resolve(dirname(file), m[1]!));
}

test("every import in src/ goes to a room its own room may import from", () => {
  const wrong: string[] = [];
  let checked = 0;
  for (const file of sources(SRC)) {
    const from = roomOf(file)!;
    expect(MAY_IMPORT[from], `${relative(ROOT, file)}: a room the layout does not know; add it to MAY_IMPORT and CONTRIBUTING.md`).toBeDefined();
    for (const target of importsOf(file)) {
      const to = roomOf(target);
      checked++;
      if (to === null || to === from) continue;
      if (!MAY_IMPORT[from]!.includes(to)) wrong.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)} (${from} -> ${to})`);
    }
  }
  expect(checked).toBeGreaterThan(150);
  expect(wrong).toEqual([]);
});

test("every command has its own entry point, the root one has them all, and each runs in the executable", async () => {
  const { COMMANDS } = await import("../src/cli/entry/commands");
  const { ALL_COMMANDS } = await import("../src/cli/commands");
  expect(Object.keys(ALL_COMMANDS).sort()).toEqual([...COMMANDS].sort());
  const files = readdirSync(join(SRC, "cli", "entry")).filter((f) => f !== "commands.ts");
  expect(files.sort()).toEqual([...COMMANDS, "root"].map((w) => `${w}.ts`).sort());
  // each entry point is found and loaded at run time (a path the bundler cannot see)
  for (const word of COMMANDS) {
    const p = Bun.spawnSync([join(ROOT, "dist", "sluice"), word, "--help"], { stdout: "pipe", stderr: "pipe" });
    expect({ word, code: p.exitCode, usage: p.stdout.toString().includes(`sluice ${word}`) }).toEqual({ word, code: 0, usage: true });
  }
}, 60_000);
