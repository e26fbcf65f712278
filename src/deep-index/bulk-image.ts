// A first index's bulk load runs in a process image of its own, started with the allocator setting
// that suits it (runtime/exec-self.ts, bulkEnv): the run that finds a bulk load ahead stops before
// writing anything, and the process replaces itself (same PID, same words) to run it again there.
// Where it cannot, the bulk load runs in this process as it always could.

import type { ConsolaInstance } from "consola";
import { bulkImageWanted, execBulkImage } from "../runtime/exec-self";
import type { StopRequest } from "../runtime/signals";
import { BulkLoadAhead } from "./indexer";

/**
 * Runs `index` (an index run, told whether to announce a bulk load); when it announces one, execs
 * the bulk image, or runs the index again here when a stop was asked for meanwhile or the exec
 * failed.
 */
export async function inBulkImage<T>(index: (announceBulkLoad: boolean) => Promise<T>, stop: StopRequest, log: ConsolaInstance): Promise<T> {
  const announce = bulkImageWanted();
  try {
    return await index(announce);
  } catch (err) {
    if (!(err instanceof BulkLoadAhead)) throw err;
  }
  // A signal that came meanwhile ends the run here (at once: nothing is written yet), not in a new
  // image; one during the exec ends the process by its default action. Taken in by the handlers
  // and then exec'd over, it was lost: a follower asked to stop as it started followed on.
  await stop.beforeExec(() => execBulkImage("a first index's bulk load", log));
  return index(false);
}
