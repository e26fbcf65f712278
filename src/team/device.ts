// Who this database is to a team store: its device id (a UUID migration 10 made once, kept in the
// database), a name and a user label, and its seat: where it pushes from (host, the database's
// real path, and the file's device and inode). The id goes with the file, so a copy of the
// database has it too; the seat is what tells the copy from the original (push.ts, docs/team.md).

import type { Database } from "bun:sqlite";
import { realpathSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { hostName } from "../runtime/host";

export interface Device {
  deviceId: string;
  /** --device, else SLUICE_DEVICE, else what an earlier --device stored, else the host name. */
  name: string;
  /** --user, else SLUICE_USER, else what an earlier --user stored, else the user name. */
  user: string;
}

export interface Seat {
  host: string;
  dbPath: string;
  /** `device:inode` of the database file: another file at the same path (a restore, `vacuum --full`) differs. */
  dbFile: string;
}

interface DeviceRow {
  device_id: string;
  name: string | null;
  user_label: string | null;
}

/**
 * The device as it pushes now. A name or user given on the command line is stored, so later
 * pushes (and a `push --follow` service) keep it without the flag.
 */
export function resolveDevice(db: Database, flags: { name?: string; user?: string }, env: NodeJS.ProcessEnv = process.env): Device {
  let row = db.query("SELECT device_id, name, user_label FROM device WHERE id = 1").get() as DeviceRow;
  if ((flags.name !== undefined && flags.name !== row.name) || (flags.user !== undefined && flags.user !== row.user_label)) {
    db.run("UPDATE device SET name = coalesce(?1, name), user_label = coalesce(?2, user_label) WHERE id = 1", [flags.name ?? null, flags.user ?? null]);
    row = db.query("SELECT device_id, name, user_label FROM device WHERE id = 1").get() as DeviceRow;
  }
  return {
    deviceId: row.device_id,
    name: flags.name ?? env.SLUICE_DEVICE ?? row.name ?? hostName(),
    user: flags.user ?? env.SLUICE_USER ?? row.user_label ?? (env.USER || env.LOGNAME || userInfo().username),
  };
}

/**
 * Gives the database a new device id (`push --new-device`): a copy that goes on as a machine of
 * its own. Its rows are then pushed as a new device; what the old id pushed stays in the store.
 */
export function renewDeviceId(db: Database): string {
  db.run(`UPDATE device SET device_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE id = 1`);
  return (db.query("SELECT device_id FROM device WHERE id = 1").get() as { device_id: string }).device_id;
}

export function seatOf(dbPath: string): Seat {
  const real = realpathSync(dbPath);
  const st = statSync(real);
  return { host: hostName(), dbPath: real, dbFile: `${st.dev}:${st.ino}` };
}

/** Checks a name or label given on the command line. */
export function labelFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v.length > 0 && v.length <= 200 && !/[\u0000-\u001f]/.test(v) ? v : invalidLabel(flag, value);
}

function invalidLabel(flag: string, value: string): never {
  throw new SluiceError(`--${flag} '${value}' is not a usable name: 1 to 200 characters, no control characters`, EXIT_USAGE);
}
