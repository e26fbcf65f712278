// A corpus of agent logs shaped like a heavy user's, built from the real samples in
// ../shared/samples with their ids made unique: Claude Code sessions (a seventh of them
// subagents, in the <session>/subagents/ layout) and every fifth one a Codex rollout, with sizes
// log-uniform from 1 KB to 50 MB, scaled to the total asked for. The same arguments always give
// the same files. Used by bench/index.ts and by the deep index's kill test.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Rng } from "./generate";

export const SAMPLES = resolve(import.meta.dir, "..", "..", "shared", "samples");

function* walk(d: string): Generator<string> {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".jsonl") && statSync(p).size > 2000) yield p;
  }
}

/**
 * A sample's lines with every id made unique to copy `k` of session `s`: the message, request,
 * tool-use and call ids (`msg_…`, `req_…`, `toolu_…`, `call_…`, `call-…`) among the string
 * values; a key such as "call_id" is followed by a colon and stays as it is.
 */
export function variant(lines: string[], s: number, k: number): string {
  const tag = `-${s}-${k}`;
  return lines.map((l) => l.replace(/"((?:msg|req|toolu|call)[_-][A-Za-z0-9_-]+)"(?!\s*:)/g, `"$1${tag}"`)).join("\n") + "\n";
}

export function buildAgentCorpus(dir: string, totalBytes: number, sessions: number): { files: number; bytes: number } {
  const claude = [...walk(join(SAMPLES, "claude", "projects"))].map((p) => readFileSync(p, "utf8").split("\n").filter(Boolean));
  const codex = [...walk(join(SAMPLES, "codex"))].map((p) => readFileSync(p, "utf8").split("\n").filter(Boolean));
  const rng = new Rng(7);
  // sizes from 1 KB to 50 MB, log-uniform, scaled to the total
  const raw = Array.from({ length: sessions }, () => Math.exp(Math.log(1e3) + rng.next() * (Math.log(50e6) - Math.log(1e3))));
  const scale = totalBytes / raw.reduce((a, b) => a + b, 0);
  let bytes = 0, files = 0;
  for (let s = 0; s < sessions; s++) {
    const want = Math.min(50e6, Math.max(1e3, raw[s]! * scale));
    const isCodex = s % 5 === 4;
    const pool = isCodex ? codex : claude;
    const src = pool[s % pool.length]!;
    const path = isCodex
      ? join(dir, "codex", "sessions", "2026", "02", String(1 + (s % 28)).padStart(2, "0"), `rollout-2026-02-01T00-00-00-${String(s).padStart(8, "0")}.jsonl`)
      : s % 7 === 3
        ? join(dir, "claude", "projects", `-work-p${s % 40}`, `${String(s - 1).padStart(8, "0")}`, "subagents", `agent-a${s}.jsonl`)
        : join(dir, "claude", "projects", `-work-p${s % 40}`, `${String(s).padStart(8, "0")}.jsonl`);
    mkdirSync(join(path, ".."), { recursive: true });
    let size = 0, k = 0, text = "";
    while (size < want) {
      const chunk = variant(src, s, k++);
      text += chunk;
      size += chunk.length;
      if (text.length > 8e6) {
        appendFileSync(path, text);
        text = "";
      }
    }
    appendFileSync(path, text);
    bytes += size;
    files++;
  }
  return { files, bytes };
}
