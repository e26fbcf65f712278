// Shared by the differential test: runs the extractor and JSON.parse over generated lines.
import { EnvelopeExtractor, toSqlValue, type SqlValue } from "../src/extract/envelope";
import { generate } from "../bench/generate";
import { isUtf8 } from "node:buffer";

/** What JSON.parse says a line holds, mapped to SQL like the extractor's output. */
export function oracle(bytes: Buffer): Record<string, SqlValue> | string {
  if (!isUtf8(bytes)) return "not UTF-8";
  let v: unknown;
  try { v = JSON.parse(bytes.toString("utf8")); } catch { return "not JSON"; }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const o = v as Record<string, unknown>;
  let m: Record<string, unknown> = {};
  if (typeof o.metadata === "string") {
    try { const x = JSON.parse(o.metadata); if (x && typeof x === "object" && !Array.isArray(x)) m = x; } catch {}
  }
  return { t: toSqlValue(o.t), source: toSqlValue(o.source), sid: toSqlValue(o.sid), flow_id: toSqlValue(o.flow_id), round: toSqlValue(o.round), event: toSqlValue(o.event), meta_pid: toSqlValue(m.pid), meta_cwd: toSqlValue(m.cwd), meta_turn_id: toSqlValue(m.turn_id) };
}

export interface DiffResult { lines: number; differences: string[]; rejects: number; slowPath: number }

export function runDifferential(lines: number, seed: number, hostile: number, invalid: number, useJsonParse = false): DiffResult {
  const ex = new EnvelopeExtractor(useJsonParse);
  const differences: string[] = [];
  let n = 0, rejects = 0;
  for (const chunk of generate({ lines, seed, hostile, invalid, huge: 1 / 50000, maxLineBytes: 300_000 })) {
    let s = 0;
    for (;;) {
      const nl = chunk.indexOf(10, s);
      if (nl < 0) break;
      let e = nl;
      if (e > s && chunk[e - 1] === 13) e--;
      if (e > s) {
        n++;
        const want = oracle(chunk.subarray(s, e));
        const got = ex.extractChecked(chunk, s, e);
        if (typeof want === "string") {
          rejects++;
          if (got !== want) differences.push(`line ${n}: oracle rejects (${want}), extractor says ${got}: ${chunk.toString("utf8", s, Math.min(e, s + 300))}`);
        } else if (got !== null) differences.push(`line ${n}: extractor rejects (${got}): ${chunk.toString("utf8", s, Math.min(e, s + 300))}`);
        else {
          for (const k of Object.keys(want)) {
            const a = (ex.fields as any)[k], b = want[k];
            if (!(a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b)))) {
              differences.push(`line ${n}: ${k}: extractor ${String(a)} (${typeof a}) != JSON.parse ${String(b)} (${typeof b}): ${chunk.toString("utf8", s, Math.min(e, s + 300))}`);
              break;
            }
          }
        }
      }
      s = nl + 1;
    }
  }
  return { lines: n, differences, rejects, slowPath: ex.slowPathLines };
}

if (import.meta.main) {
  const t0 = performance.now();
  const r = runDifferential(Number(process.argv[2] ?? 100000), Number(process.argv[3] ?? 1), Number(process.argv[4] ?? 0.3), Number(process.argv[5] ?? 0.02));
  console.log({ ...r, differences: r.differences.length, secs: (performance.now() - t0) / 1000 });
  for (const d of r.differences.slice(0, 10)) console.log(d);
}
