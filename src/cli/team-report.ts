// `report --from postgres://...`: a report on the team store. The store is read into an index in
// memory with the local schema (team/team-index.ts) and the local report code runs on it, so the
// JSON has the same shapes and the numbers the same sums. --device and --user choose devices;
// --by device|user gives one report per device or person, as --instances gives one per project.
// Blocks are one person's (a 5-hour window is a subscription's): several people need --user.

import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { UsageReader, totalsOf, type ReportOptions } from "../report/reports";
import { bucketsIndex, chooseDevices, fullIndex, withStore, type StoreDeviceRow } from "../team/team-index";
import { storeUrl } from "../team/url";
import { fillSessionUsage } from "../deep-index/session-usage";

export const BY = ["device", "user"] as const;

/** The index in memory a report needs: the summed buckets when they are enough, else every row. */
async function indexFor(sql: SQL, devices: StoreDeviceRow[], kind: string, args: Record<string, any>, o: ReportOptions): Promise<Database> {
  const ids = devices.map((d) => d.device);
  const sumsEnough = ["daily", "weekly", "monthly"].includes(kind) && !args.project && !args.agent && !args.instances;
  if (sumsEnough) {
    const db = await bucketsIndex(sql, ids);
    if (new UsageReader(db, o.prices).pricesFromBuckets()) return db;
    db.close();
  }
  const db = await fullIndex(sql, ids);
  // what the session and model reports read: the store keeps the turns, not these sums
  fillSessionUsage(db);
  return db;
}

/** The store's report: `build` is the local report's own builder, run on the index in memory. */
export async function teamReport(kind: string, args: Record<string, any>, o: ReportOptions, build: (db: Database) => any): Promise<any> {
  if (args.by !== undefined && !BY.includes(args.by)) throw new SluiceError(`--by ${args.by}: use device or user`, EXIT_USAGE);
  if (args.by !== undefined && !["daily", "weekly", "monthly"].includes(kind)) throw new SluiceError(`--by is for 'sluice report daily|weekly|monthly', not '${kind}'`, EXIT_USAGE);
  const url = storeUrl(args.from);
  const r = await withStore(url, async (sql) => {
    const devices = await chooseDevices(sql, url, { device: args.device, user: args.user });
    const people = [...new Set(devices.map((d) => d.user))];
    if (kind === "blocks" && people.length > 1) {
      throw new SluiceError(`blocks are one person's 5-hour windows: pass --user (${people.slice(0, 5).join(", ")}${people.length > 5 ? ", ..." : ""}) or --device`, EXIT_USAGE);
    }
    if (args.by === undefined) return once(await indexFor(sql, devices, kind, args, o), build);
    const groups = new Map<string, StoreDeviceRow[]>();
    for (const d of devices) {
      const name = args.by === "user" ? d.user : d.name;
      let group = groups.get(name);
      if (!group) groups.set(name, (group = []));
      group.push(d);
    }
    const out: Record<string, any[]> = {};
    const unpriced = new Set<string>(), approximate = new Map<string, unknown>();
    const totals: any[] = [];
    for (const [name, group] of groups) {
      const g = once(await indexFor(sql, group, kind, args, o), build);
      out[name] = g[kind];
      totals.push(g.totals);
      g.unpricedModels.forEach((m: string) => unpriced.add(m));
      g.approximatePrices.forEach((a: any) => approximate.set(a.model, a));
    }
    // the groups split the devices: the team's totals are theirs added up, not a second fetch of every row
    return { [args.by === "user" ? "users" : "devices"]: out, totals: totalsOf(totals), unpricedModels: [...unpriced].sort(), approximatePrices: [...approximate.values()] };
  });
  return { store: url.masked, ...r };
}

function once(db: Database, build: (db: Database) => any): any {
  try {
    return build(db);
  } finally {
    db.close();
  }
}
