// Replaced at build time by `--define SLUICE_VERSION=...` (build.ts); read from package.json otherwise.
declare const SLUICE_VERSION: string | undefined;
import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = typeof SLUICE_VERSION === "string" ? SLUICE_VERSION : pkg.version;
