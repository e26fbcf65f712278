// Migration 18: a claim names its process by more than its PID. After a crash and a reboot, a
// claim's PID can belong to another process, which made the claim look held: `sluice index` (or
// the index follower's service, started at boot) waited for a holder that was not sluice. Each
// claim now also keeps the boot it was taken in and its process's start time in clock ticks since
// that boot (Linux's /proc; NULL elsewhere, where the PID alone still decides). Neither depends on
// the wall clock, which may step (NTP on a machine without a clock) while a holder is alive.
// Its SQL is its own: a migration never calls code that a later change could alter.

import type { Migration } from "../schema";

export const v18: Migration = {
  version: 18,
  name: "claims that name their process's boot and start",
  rewritesData: false,
  up(db) {
    db.run(`
      -- /proc/sys/kernel/random/boot_id when the claim was taken
      ALTER TABLE ingester ADD COLUMN boot_id TEXT;
      -- field 22 of /proc/<pid>/stat: the process's start, in clock ticks since boot (an exec keeps it)
      ALTER TABLE ingester ADD COLUMN start_ticks INTEGER;
      ALTER TABLE writers ADD COLUMN boot_id TEXT;
      ALTER TABLE writers ADD COLUMN start_ticks INTEGER;
    `);
  },
};
