// Runs a snapshot in the SQL worker and, while it runs, calls `onTick` a few times a second: the
// progress of a VACUUM INTO is the size of the file it writes, which only another thread can watch.

import { workerPath } from "../runtime/paths";
import type { SnapshotJob, SnapshotReply } from "./sql-worker";

const TICK_MS = 250;

/** Runs the job; `onPhase` hears when the copy is written and its check begins. */
export async function runSnapshotInBackground(job: SnapshotJob, onTick: () => void, onPhase: (phase: "check") => void): Promise<void> {
  const worker = new Worker(workerPath("ops/sql-worker.ts"));
  const timer = setInterval(onTick, TICK_MS);
  try {
    const result = await new Promise<Exclude<SnapshotReply, { phase: "check" }>>((resolve) => {
      worker.onmessage = (e: MessageEvent<SnapshotReply>) => {
        if ("phase" in e.data) onPhase(e.data.phase);
        else resolve(e.data);
      };
      worker.onerror = (e) => resolve({ ok: false, message: e.message });
      worker.postMessage(job);
    });
    if (!result.ok) throw new Error(result.message);
  } finally {
    clearInterval(timer);
    worker.terminate();
  }
}
