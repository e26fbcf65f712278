// Runs SQL in the SQL worker and, while it runs, calls `onTick` a few times a second: the progress
// of a VACUUM INTO is the size of the file it writes, which only another thread can watch.

import { workerPath } from "../runtime/paths";
import type { RebuildJob, SqlJob, SqlResult } from "./sql-worker";

const TICK_MS = 250;

/** Runs the job; `onPhase` hears of the rebuild's integrity check. */
export async function runSqlInBackground(job: SqlJob | RebuildJob, onTick?: () => void, onPhase?: (phase: "check") => void): Promise<unknown[]> {
  const worker = new Worker(workerPath("ops/sql-worker.ts"));
  const timer = onTick ? setInterval(onTick, TICK_MS) : null;
  try {
    const result = await new Promise<Exclude<SqlResult, { phase: "check" }>>((resolve) => {
      worker.onmessage = (e: MessageEvent<SqlResult>) => {
        if ("phase" in e.data) onPhase?.(e.data.phase);
        else resolve(e.data);
      };
      worker.onerror = (e) => resolve({ ok: false, message: e.message });
      worker.postMessage(job);
    });
    if (!result.ok) throw new Error(result.message);
    return result.rows;
  } finally {
    if (timer) clearInterval(timer);
    worker.terminate();
  }
}
