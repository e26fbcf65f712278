// Builds the standalone executable with `bun build --compile`.
//
//   bun run build.ts             dist/sluice for this machine
//   bun run build.ts --release   dist/sluice-<target> for every release target, each with a .sha256
//
// The part worker of the parallel backfill is a second entry point: a compiled executable only
// contains the workers it was built with.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import pkg from "./package.json" with { type: "json" };

const RELEASE_TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "darwin-arm64", "darwin-x64"] as const;

async function compile(outfile: string, target?: string) {
  const result = await Bun.build({
    entrypoints: ["./src/cli.ts", "./src/ingest/part-worker.ts"],
    define: { SLUICE_VERSION: JSON.stringify(pkg.version) },
    minify: true,
    compile: {
      outfile,
      ...(target ? { target: `bun-${target}` as Bun.Build.CompileTarget } : {}),
      // The binary reads no .env or bunfig.toml from wherever it happens to run.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    for (const m of result.logs) console.error(m);
    throw new Error(`build of ${outfile} failed`);
  }
}

function writeChecksum(file: string) {
  const sum = createHash("sha256").update(readFileSync(file)).digest("hex");
  writeFileSync(`${file}.sha256`, `${sum}  ${file.split("/").pop()}\n`);
}

mkdirSync("dist", { recursive: true });
if (process.argv.includes("--release")) {
  for (const target of RELEASE_TARGETS) {
    const out = `dist/sluice-${target}`;
    rmSync(out, { force: true });
    await compile(out, target);
    writeChecksum(out);
    console.error(`built ${out}`);
  }
} else {
  await compile("dist/sluice");
  console.error("built dist/sluice");
}
