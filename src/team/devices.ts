// Who pushed what, and when: one row per device of a team store, read without changing anything.

import { connectStore, describePgError } from "./connection";
import { requireStore } from "./pg-schema";
import type { StoreUrl } from "./url";

export interface StoreDevice {
  device_id: string;
  name: string;
  user: string;
  /** Where it last pushed from. */
  host: string;
  db_path: string;
  with_archive: boolean;
  sluice: string;
  first_push_at: string;
  last_push_at: string;
  pushes: number;
  sessions: number;
  calls: number;
  tokens: number;
  /** The first and last 15-minute bucket with calls (UTC), or null. */
  first_activity: string | null;
  last_activity: string | null;
}

// Counts from usage_buckets and sessions, a few rows per device, never a scan of the turns.
const DEVICES_SQL = `
  SELECT d.device_id::text AS device_id, d.name, d.user_label AS "user", d.host, d.db_path, d.with_archive, d.sluice,
    d.first_push_at, d.last_push_at, d.pushes::float8 AS pushes,
    (SELECT count(*) FROM sluice.sessions s WHERE s.device = d.device)::float8 AS sessions,
    coalesce(u.calls, 0) AS calls, coalesce(u.tokens, 0) AS tokens, u.first_bucket AS first_activity, u.last_bucket AS last_activity
  FROM sluice.devices d
  LEFT JOIN LATERAL (
    SELECT sum(calls)::float8 AS calls,
      sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens)::float8 AS tokens,
      min(nullif(bucket, '')) AS first_bucket, max(nullif(bucket, '')) AS last_bucket
    FROM sluice.usage_buckets b WHERE b.device = d.device
  ) u ON true
  ORDER BY d.user_label, d.name, d.device_id`;

export async function listDevices(url: StoreUrl): Promise<StoreDevice[]> {
  const sql = connectStore(url);
  try {
    await requireStore(sql, url);
    const rows = await sql.unsafe(DEVICES_SQL);
    return rows.map((r: Record<string, unknown>) => ({
      ...r,
      first_push_at: (r.first_push_at as Date).toISOString(),
      last_push_at: (r.last_push_at as Date).toISOString(),
    })) as StoreDevice[];
  } catch (err) {
    throw describePgError(err, url, "reading the store");
  } finally {
    await sql.close({ timeout: 1 }).catch(() => {});
  }
}
