// The price table: built from the dataset snapshot (src/report/price-data.json, made from
// @pydantic/genai-prices), every model of the samples priced by its own name, an approximation
// always marked as one, --prices laid over the table, `sluice prices`, and bad price files.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BUILT_IN_MODELS, DEFAULT_PRICES, matchPrice, priceOf } from "../src/report/prices";
import { openReader, RUNNERS, run, SHARED, tempDir } from "./helpers";

const BIN = RUNNERS[1]!.cmd;
const tmp = tempDir("sluice-prices-");
afterAll(() => tmp.cleanup());
const NONE = join(tmp.dir, "none");
mkdirSync(NONE);

/** One Claude Code transcript with an assistant message per [model, input, output] (a real sample line, re-dated). */
function claudeTranscript(root: string, calls: Array<[model: string, input: number, output: number]>) {
  const projects = join(SHARED, "samples", "claude", "projects");
  const dir = readdirSync(projects).sort()[0]!;
  const file = readdirSync(join(projects, dir)).filter((f) => f.endsWith(".jsonl")).sort()[0]!;
  const template = readFileSync(join(projects, dir, file), "utf8").split("\n").find((l) => l.includes('"type":"assistant"'))!;
  const lines = calls.map(([model, input, output], i) => {
    const d = JSON.parse(template);
    d.message.model = model;
    d.message.id = `msg_prices_test_${i}`;
    d.requestId = `req_prices_test_${i}`;
    d.uuid = `00000000-0000-4000-8000-00000000000${i}`;
    d.timestamp = "2026-06-01T10:00:00.000Z";
    d.message.usage = { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, service_tier: "standard" };
    return JSON.stringify(d);
  });
  const out = join(root, "projects", "-tmp-prices", "7acd37a8-2745-4b58-a8a9-46164b22ad91.jsonl");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, lines.join("\n") + "\n");
}

/** Cost per model over the whole daily report. */
async function costs(db: string, extra: string[] = []): Promise<Record<string, number>> {
  const r = await run(BIN, ["report", "daily", "--db", db, "--tz", "UTC", "--json", ...extra]);
  expect(r.code).toBe(0);
  const out: Record<string, number> = {};
  for (const d of JSON.parse(r.stdout).daily) for (const m of d.modelBreakdowns) out[m.modelName] = (out[m.modelName] ?? 0) + m.cost;
  return out;
}

const OPUS_47 = join(tmp.dir, "opus-4-7");
const OPUS_DB = join(tmp.dir, "opus.db");

beforeAll(async () => {
  claudeTranscript(OPUS_47, [
    ["claude-opus-4-7", 100_000, 100_000],
    ["claude-opus-4-7-20260416", 1_000, 1_000],
    ["claude-sonnet-4-5-20250929", 100_000, 100_000],
  ]);
  expect((await run(BIN, ["index", "--claude", OPUS_47, "--codex", NONE, "--db", OPUS_DB])).code).toBe(0);
}, 60_000);

test("every model in the samples is priced by its own name, never by a shorter family prefix", async () => {
  const db = join(tmp.dir, "samples.db");
  const r = await run(BIN, ["index", "--claude", join(SHARED, "samples", "claude"), "--codex", join(SHARED, "samples", "codex"), "--db", db]);
  expect(r.code).toBe(0);
  const reader = openReader(db);
  const models = (reader.query("SELECT DISTINCT model FROM turns WHERE model IS NOT NULL ORDER BY model").all() as Array<{ model: string }>).map((x) => x.model);
  reader.close();
  expect(models.length).toBeGreaterThanOrEqual(8);
  const notExact = models.map((m) => ({ model: m, ...matchPrice(m, DEFAULT_PRICES) })).filter((m) => m.kind !== "exact").map((m) => `${m.model}: ${m.kind} ${m.key ?? ""}`);
  expect(notExact).toEqual([]);
  // and the binary says the same of each
  for (const m of models) {
    const p = await run(BIN, ["prices", "--model", m, "--json"]);
    expect({ m, code: p.code, match: JSON.parse(p.stdout).lookup.match }).toEqual({ m, code: 0, match: "exact" });
  }
  const report = await run(BIN, ["report", "models", "--db", db, "--json"]);
  expect(JSON.parse(report.stdout).unpricedModels).toEqual([]);
}, 60_000);

test("an id only a shorter family prefix matches is marked as an approximation; an unknown one as none", () => {
  expect(matchPrice("claude-opus-4-9", DEFAULT_PRICES)).toMatchObject({ kind: "prefix", key: "claude-opus-4" });
  expect(matchPrice("gpt-5.3-codex-ultra", DEFAULT_PRICES)).toMatchObject({ kind: "prefix", key: "gpt-5.3-codex" });
  expect(matchPrice("claude-opus-4-7", DEFAULT_PRICES)).toMatchObject({ kind: "exact", key: "claude-opus-4-7" });
  expect(matchPrice("no-such-model", DEFAULT_PRICES)).toEqual({ kind: "none", key: null, price: null });
  expect(priceOf("no-such-model", DEFAULT_PRICES)).toBeNull();
  // provider paths, Bedrock and Vertex forms, context tags and release dates are the same model
  for (const id of ["anthropic/claude-opus-4-7", "us.anthropic.claude-opus-4-7", "claude-opus-4-7@20260416", "claude-opus-4-7[1m]", "CLAUDE-OPUS-4-7-20260416"]) {
    expect({ id, ...matchPrice(id, DEFAULT_PRICES) }).toMatchObject({ id, kind: "exact", key: "claude-opus-4-7" });
  }
  expect(matchPrice("gpt-4.1-2025-04-14", DEFAULT_PRICES)).toMatchObject({ kind: "exact" });
  // a dated id the dataset prices apart keeps its own price
  expect(priceOf("gpt-4o-2024-05-13", DEFAULT_PRICES)!.input).toBe(5);
  expect(priceOf("gpt-4o-2024-08-06", DEFAULT_PRICES)!.input).toBe(2.5);
});

test("the table carries long-context tiers and 1-hour cache writes, and the overrides fill the dataset's gaps", () => {
  const sonnet45 = priceOf("claude-sonnet-4-5-20250929", DEFAULT_PRICES)!;
  expect(sonnet45).toMatchObject({ input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, threshold: 200_000 });
  expect(sonnet45.above).toMatchObject({ input: 6, output: 22.5 });
  expect(priceOf("claude-opus-4-6", DEFAULT_PRICES)).toMatchObject({ cacheWrite5m: 6.25, cacheWrite1h: 10 });
  // the override: Sonnet 4's long-context tier, which the dataset has for Sonnet 4.5 only
  expect(priceOf("claude-sonnet-4-20250514", DEFAULT_PRICES)).toMatchObject({ threshold: 200_000, above: { input: 6, output: 22.5 } });
  expect(BUILT_IN_MODELS.find((m) => m.id === "claude-sonnet-4-0")!.origin).toBe("override");
});

test("claude-opus-4-7 costs $5 / $25 per million tokens, not Opus 4's $15 / $75", async () => {
  expect(priceOf("claude-opus-4-7", DEFAULT_PRICES)).toMatchObject({ input: 5, output: 25, cacheRead: 0.5 });
  const c = await costs(OPUS_DB);
  expect(c["claude-opus-4-7"]).toBeCloseTo(0.1 * 5 + 0.1 * 25, 9);
  expect(c["claude-opus-4-7-20260416"]).toBeCloseTo(0.001 * 5 + 0.001 * 25, 9);
  expect(c["claude-sonnet-4-5-20250929"]).toBeCloseTo(0.1 * 3 + 0.1 * 15, 9);
});

test("--prices FILE is laid over the table: the model it names changes, the rest stay", async () => {
  const file = join(tmp.dir, "overlay.json");
  writeFileSync(file, JSON.stringify({ "claude-opus-4-7": { input: 1, output: 2, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 }, "my-local-model": { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 } }));
  const before = await costs(OPUS_DB);
  const after = await costs(OPUS_DB, ["--prices", file]);
  expect(after["claude-opus-4-7"]).toBeCloseTo(0.1 * 1 + 0.1 * 2, 9);
  expect(after["claude-opus-4-7-20260416"]).toBeCloseTo(0.001 * 1 + 0.001 * 2, 9);
  expect(after["claude-sonnet-4-5-20250929"]).toBe(before["claude-sonnet-4-5-20250929"]!);

  const table = JSON.parse((await run(BIN, ["prices", "--prices", file, "--json"])).stdout);
  const plain = JSON.parse((await run(BIN, ["prices", "--json"])).stdout);
  expect(table.overlay).toBe(file);
  expect(table.models.length).toBe(plain.models.length + 1);
  const changed = table.models.filter((m: any) => JSON.stringify(m) !== JSON.stringify(plain.models.find((p: any) => p.model === m.model)));
  expect(changed.map((m: any) => [m.model, m.origin, m.input, m.output])).toEqual([["claude-opus-4-7", "file", 1, 2], ["my-local-model", "file", 0, 0]]);
}, 60_000);

test("sluice prices --json: the source, its date, and per model the prices in camelCase; the same from source and binary", async () => {
  const snapshot = JSON.parse(readFileSync(join(import.meta.dir, "..", "src", "report", "price-data.json"), "utf8"));
  const outs: string[] = [];
  for (const r of RUNNERS) {
    const p = await run(r.cmd, ["prices", "--json"]);
    expect({ runner: r.name, code: p.code, stderr: p.stderr }).toEqual({ runner: r.name, code: 0, stderr: "" });
    outs.push(p.stdout);
  }
  expect(outs[1]).toBe(outs[0]!);
  const j = JSON.parse(outs[0]!);
  expect(Object.keys(j)).toEqual(["source", "overlay", "unit", "models"]);
  expect(j.source).toEqual({ package: "@pydantic/genai-prices", version: snapshot.source.version, date: snapshot.source.date });
  expect(j.source.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(j.overlay).toBeNull();
  expect(j.unit).toBe("USD per million tokens");
  expect(j.models.length).toBe(BUILT_IN_MODELS.length);
  for (const m of j.models) {
    expect(Object.keys(m)).toEqual(["model", "aliases", "provider", "origin", "input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead", "threshold", "above"]);
    for (const f of ["input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead"]) expect(m[f]).toBeGreaterThanOrEqual(0);
  }
  expect(j.models.find((m: any) => m.model === "claude-opus-4-7")).toMatchObject({ provider: "anthropic", origin: "dataset", input: 5, output: 25, threshold: null, above: null });
  expect(j.models.find((m: any) => m.model === "claude-sonnet-4-5")).toMatchObject({ threshold: 200_000, above: { input: 6, output: 22.5, cacheWrite5m: 7.5, cacheWrite1h: 12, cacheRead: 0.6 } });

  const one = JSON.parse((await run(BIN, ["prices", "--model", "claude-opus-4-9", "--json"])).stdout);
  expect(one.lookup).toEqual({ model: "claude-opus-4-9", match: "prefix", key: "claude-opus-4", pricedAs: "claude-opus-4-0" });
  const text = await run(BIN, ["prices", "--model", "claude-opus-4-7"]);
  expect(text.stdout).toContain("@pydantic/genai-prices");
  expect(text.stdout).toMatch(/claude-opus-4-7 +\$5 +\$25 /);
}, 60_000);

test("the committed snapshot is what the build makes from the installed package", async () => {
  const { PRICE_PACKAGE, PROVIDERS, SNAPSHOT_FILE, snapshotOf, snapshotText } = await import("../src/report/price-snapshot");
  const installed = JSON.parse(readFileSync(join(import.meta.dir, "..", "node_modules", ...PRICE_PACKAGE.split("/"), "package.json"), "utf8")).version;
  const committed = readFileSync(SNAPSHOT_FILE, "utf8");
  const date = JSON.parse(committed).source.date;
  expect(JSON.parse(committed).source.version).toBe(installed);
  const { findProvider } = await import(PRICE_PACKAGE);
  const { snapshot } = snapshotOf(PROVIDERS.map((id) => findProvider({ providerId: id })), installed, date);
  expect(snapshotText(snapshot)).toBe(committed);
});

test("a bad price file is one line on stderr and exit 2", async () => {
  const db = OPUS_DB;
  const bad: Record<string, string> = {
    "not-json.json": "{ nope",
    "array.json": "[]",
    "missing-field.json": JSON.stringify({ "claude-opus-4-7": { input: 5, output: 25 } }),
    "negative.json": JSON.stringify({ "claude-opus-4-7": { input: -1, output: 25, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } }),
    "threshold-only.json": JSON.stringify({ "claude-opus-4-7": { input: 5, output: 25, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1, threshold: 200000 } }),
  };
  const files = Object.entries(bad).map(([name, text]) => {
    writeFileSync(join(tmp.dir, name), text);
    return join(tmp.dir, name);
  });
  for (const file of [...files, join(tmp.dir, "does-not-exist.json")]) {
    for (const args of [["prices", "--prices", file], ["report", "daily", "--db", db, "--prices", file]]) {
      const r = await run(BIN, args);
      const lines = r.stderr.trim().split("\n");
      expect({ args, code: r.code, stdout: r.stdout, lines: lines.length }).toEqual({ args, code: 2, stdout: "", lines: 1 });
      expect(lines[0]).toContain(file);
    }
  }
}, 60_000);
