// Builds the standalone executable with `bun build --compile`.
//
//   bun run build.ts             dist/sluice for this machine
//   bun run build.ts --release   dist/sluice-<target> for every release target, each with a .sha256
//   bun run build.ts --release --only linux-x64    one release target
//
// The worker threads (the parallel backfill's part worker, the operations' SQL worker) and each
// command are entry points of their own: a compiled executable only contains the entry points it
// was built with.
//
// Every build first refreshes the price table (src/report/price-data.json) from the installed
// @pydantic/genai-prices, so that the binary embeds the prices of the version bun.lock pins.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import pkg from "./package.json" with { type: "json" };
import { COMMANDS } from "./src/cli/entry/commands";
import { refreshPriceSnapshot } from "./src/report/price-snapshot";

/**
 * Each command's entry point, and the root one: src/main.ts loads only the one a command line
 * names, and Bun loads an entry point's code only when it is imported, so a command starts without
 * the code of the others (docs/design.md, "Start-up").
 */
const ENTRY_POINTS = [...COMMANDS, "root"].map((w) => `./src/cli/entry/${w}.ts`);

const RELEASE_TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "darwin-arm64", "darwin-x64"] as const;

/** The C sources of the native extension (src/native/extension.ts), built into one shared object. */
const NATIVE_SOURCES = ["release-pages.c", "checkpointer.c", "defensive.c"].map((f) => `${import.meta.dir}/src/native/${f}`);

/**
 * The native extension built for a Linux target, base64, or "" when no C compiler for it is found.
 * The executable then works the same, with about 12 MB more RSS in the live tail and its
 * checkpoints in the writer. It needs no libc headers and links no libc (only pthread_create and
 * pthread_join, from the process at load time), so one build serves glibc and musl.
 */
export function nativeExtension(target: string | undefined): string {
  const arch = target ? target.split("-")[1] : process.arch;
  const os = target ? target.split("-")[0] : process.platform;
  if (os !== "linux" || (arch !== "x64" && arch !== "arm64")) return "";
  const native = arch === process.arch && process.platform === "linux";
  const compilers: string[][] = native
    ? [["cc"], ["gcc"], ["clang"]]
    : arch === "arm64"
      ? [["aarch64-linux-gnu-gcc"], ["clang", "--target=aarch64-linux-gnu", "-fuse-ld=lld"]]
      : [["x86_64-linux-gnu-gcc"], ["clang", "--target=x86_64-linux-gnu", "-fuse-ld=lld"]];
  mkdirSync(`${import.meta.dir}/dist`, { recursive: true });
  const out = `${import.meta.dir}/dist/.sluice-native-${arch}.so`;
  const tried: string[] = [];
  for (const cc of compilers) {
    if (!Bun.which(cc[0]!)) {
      tried.push(`${cc[0]} (not installed)`);
      continue;
    }
    const args = [...cc, "-O2", "-fPIC", "-shared", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-Wall", "-Wextra", "-Werror", "-o", out, ...NATIVE_SOURCES];
    const r = Bun.spawnSync(args, { stderr: "pipe" });
    if (r.exitCode === 0) {
      const so = readFileSync(out).toString("base64");
      rmSync(out, { force: true });
      return so;
    }
    tried.push(`${cc.join(" ")}: ${r.stderr.toString().trim().split("\n")[0]}`);
  }
  console.error(`warning: ${target ?? "this machine"}: no C compiler built the native extension (${tried.join("; ")}); the live tail will not release its start-up pages (about 12 MB more RSS) and will checkpoint in the writer (a higher p99 latency). Install gcc to include it.`);
  return "";
}

/**
 * citty imports consola's full entry and consola/utils, which build a default consola on
 * process.stdout, an Intl.Segmenter and node:tty's checks as they load: about 20 ms of every
 * command's start, for citty's own usage text and runMain, which sluice does not use. The
 * executable gives citty src/cli/citty-consola.ts instead.
 */
const cittyConsola: Bun.BunPlugin = {
  name: "citty-consola",
  setup(build) {
    const shim = `${import.meta.dir}/src/cli/citty-consola.ts`;
    build.onResolve({ filter: /^consola(\/utils)?$/ }, (args) => (args.importer.includes("/node_modules/citty/") ? { path: shim } : undefined));
  },
};

async function compile(outfile: string, target?: string) {
  const result = await Bun.build({
    entrypoints: ["./src/main.ts", ...ENTRY_POINTS, "./src/ingest/part-worker.ts", "./src/ops/sql-worker.ts", "./src/deep-index/parse-worker.ts", "./src/archive/search-index-worker.ts"],
    // entry points named from src/, as src/main.ts names them (cli/entry/report.js)
    root: "./src",
    define: { SLUICE_VERSION: JSON.stringify(pkg.version), SLUICE_NATIVE_SO: JSON.stringify(nativeExtension(target)) },
    minify: true,
    plugins: [cittyConsola],
    // Precompiled bytecode: a command starts in 20 ms instead of 55 ms (measured on the two-core
    // machine; most of it was parsing the bundle), which is most of what a re-index of an
    // unchanged tree or one grown session costs.
    bytecode: true,
    format: "esm",
    compile: {
      outfile,
      ...(target ? { target: `bun-${target}` as Bun.Build.CompileTarget } : {}),
      // The binary reads no .env or bunfig.toml from wherever it happens to run.
      autoloadDotenv: false,
      autoloadBunfig: false,
      // sluice reads logs full of other people's text and never evaluates any: a string can never
      // become code in this process, whatever a dependency might try.
      execArgv: ["--disallow-code-generation-from-strings=strict"],
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

// Imported by test/checkpointer.test.ts for nativeExtension; run, it builds.
if (import.meta.main) {
  mkdirSync("dist", { recursive: true });
  console.error(await refreshPriceSnapshot());
  if (process.argv.includes("--release")) {
    const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
    if (only !== undefined && !(RELEASE_TARGETS as readonly string[]).includes(only)) throw new Error(`--only ${only}: not a release target (${RELEASE_TARGETS.join(", ")})`);
    for (const target of RELEASE_TARGETS.filter((t) => only === undefined || t === only)) {
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
}
