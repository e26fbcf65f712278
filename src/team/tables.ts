// What a push sends, table by table: which local columns become which columns in PostgreSQL, the
// natural key a row is replaced by, and how a change log entry (migration 10's push_log) finds the
// row again. This is the whole list of what leaves the machine (docs/team.md lists it for people):
// a column not named here is never read by a push.
//
// Rows go over as CSV for COPY, each line built by SQLite itself (one string per batch of rows,
// no JavaScript per row), device number first.

export type ColumnKind = "text" | "int" | "real";

export interface PushTable {
  /** The table's name, the same locally and in the store's schema `sluice`. */
  name: string;
  /** Its number in push_log.tbl. */
  code: number;
  /**
   * rowid: a log entry names the local rowid (INTEGER PRIMARY KEY), kept in the store as
   * `localId`. A changed row replaces the store's rows of its id and of its natural key (`key`,
   * whose local expression is `keyExpr`): a call written again under a new id keeps its key.
   * keyed: an entry names the key itself (the store's column `key`); the store's rows with that
   * key are replaced by the local ones.
   */
  kind: "rowid" | "keyed";
  /** The local rows, `x` being the table itself. */
  from: string;
  /** The local column a log entry names. */
  logKey: string;
  /** rowid tables: the store's column that holds the local id. */
  localId?: string;
  /** The store's column of the natural key, unique with `device` (usage_buckets: with `model`). */
  key: string;
  /** rowid tables: the local expression of `key`, when it is not the local id itself. */
  keyExpr?: string;
  /** The local column a full read is paged by (null: one read; the table is small). */
  cursor: string | null;
  /** [store column, kind, local SQL expression]. */
  columns: Array<[string, ColumnKind, string]>;
}

/** Columns that carry what people wrote or read, sent only with --with-archive. */
export const ARCHIVE_COLUMNS = new Set(["summary", "first_prompt"]);

const TOKENS: Array<[string, ColumnKind, string]> = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"].map(
  (c) => [c, "int", `x.${c}`],
);

const sessionKeyOf = (id: string) => `(SELECT session_key FROM sessions WHERE id = ${id})`;

/** A call's natural key: both ids (unique locally), length-prefixed so no two pairs read the same; else its local row. */
const callKey = (t: string) =>
  `CASE WHEN ${t}.message_id IS NOT NULL AND ${t}.request_id IS NOT NULL THEN 'm' || length(${t}.message_id) || ':' || ${t}.message_id || ${t}.request_id ELSE 'r' || ${t}.id END`;

/** A tool use's natural key: its id (unique locally), else its local row. */
const useKey = (i: string) => `CASE WHEN ${i}.tool_use_id IS NOT NULL THEN 't:' || ${i}.tool_use_id ELSE 'r' || ${i}.id END`;

export const PUSH_TABLES: PushTable[] = [
  {
    name: "sessions", code: 1, kind: "rowid", from: "sessions x", logKey: "x.id", localId: "local_id", key: "session_key", keyExpr: "x.session_key", cursor: "x.id",
    columns: [
      ["session_key", "text", "x.session_key"], ["local_id", "int", "x.id"], ["agent", "text", "x.agent"], ["agent_session_id", "text", "x.agent_session_id"],
      ["project", "text", "x.project"], ["file", "text", "x.file"], ["parent_session", "text", "x.parent_session"], ["is_sidechain", "int", "x.is_sidechain"],
      ["agent_type", "text", "x.agent_type"], ["git_branch", "text", "x.git_branch"], ["tool_version", "text", "x.tool_version"],
      ["first_at", "text", "x.first_at"], ["last_at", "text", "x.last_at"], ["turns", "int", "x.turns"], ["user_messages", "int", "x.user_messages"],
      ["tool_calls", "int", "x.tool_calls"], ...TOKENS, ["reasoning_tokens", "int", "x.reasoning_tokens"], ["primary_model", "text", "x.primary_model"],
      ["compactions", "int", "x.compactions"], ["summary", "text", "x.summary"], ["first_prompt", "text", "x.first_prompt"],
    ],
  },
  {
    name: "turns", code: 2, kind: "rowid", from: "turns x", logKey: "x.id", localId: "local_id", key: "call_key", keyExpr: callKey("x"), cursor: "x.id",
    columns: [
      ["call_key", "text", callKey("x")], ["local_id", "int", "x.id"], ["session_key", "text", sessionKeyOf("x.session_id")], ["seq", "int", "x.seq"],
      ["message_id", "text", "x.message_id"], ["request_id", "text", "x.request_id"], ["model", "text", "x.model"], ["at", "text", "x.at"], ...TOKENS,
      ["reasoning_tokens", "int", "x.reasoning_tokens"], ["total_tokens", "int", "x.total_tokens"], ["service_tier", "text", "x.service_tier"],
      ["stop_reason", "text", "x.stop_reason"], ["is_sidechain", "int", "x.is_sidechain"],
    ],
  },
  {
    name: "invocations", code: 3, kind: "rowid", from: "invocations x", logKey: "x.id", localId: "local_id", key: "use_key", keyExpr: useKey("x"), cursor: "x.id",
    columns: [
      ["use_key", "text", useKey("x")], ["local_id", "int", "x.id"],
      ["session_key", "text", sessionKeyOf("x.session_id")], ["turn_key", "text", `(SELECT ${callKey("t")} FROM turns t WHERE t.id = x.turn_id)`],
      ["at", "text", "x.at"], ["kind", "text", "x.kind"], ["name", "text", "x.name"], ["tool_use_id", "text", "x.tool_use_id"], ["is_error", "int", "x.is_error"],
    ],
  },
  {
    name: "agent_files", code: 4, kind: "rowid", from: "agent_files x", logKey: "x.id", localId: "file_id", key: "file_id", cursor: "x.id",
    columns: [
      ["file_id", "int", "x.id"], ["path", "text", "x.path"], ["agent", "text", "x.agent"], ["session_key", "text", sessionKeyOf("x.session_id")],
      ["size", "int", "x.size"], ["mtime_ms", "real", "x.mtime_ms"], ["indexed_offset", "int", "x.indexed_offset"], ["lines", "int", "x.lines"],
      ["malformed", "int", "x.malformed"], ["unknown", "int", "x.unknown"], ["indexed_at", "text", "x.indexed_at"],
    ],
  },
  {
    name: "models", code: 5, kind: "keyed", from: "models x", logKey: "x.id", key: "id", cursor: null,
    columns: [
      ["id", "text", "x.id"], ["provider", "text", "x.provider"], ["family", "text", "x.family"], ["first_seen", "text", "x.first_seen"],
      ["last_seen", "text", "x.last_seen"], ["calls", "int", "x.calls"],
    ],
  },
  {
    name: "usage_buckets", code: 6, kind: "keyed", from: "usage_buckets x", logKey: "x.bucket", key: "bucket", cursor: null,
    columns: [
      ["bucket", "text", "x.bucket"], ["model", "text", "x.model"], ["calls", "int", "x.calls"], ...TOKENS,
      ...["input_above", "output_above", "cache_read_above", "cache_write_5m_above", "cache_write_1h_above"].map((c): [string, ColumnKind, string] => [c, "int", `x.${c}`]),
    ],
  },
  {
    name: "flows", code: 7, kind: "keyed", from: "flows x", logKey: "x.flow_id", key: "flow_id", cursor: "x.rowid",
    columns: [
      ["flow_id", "text", "x.flow_id"], ["source", "text", "x.source"], ["sid", "text", "x.sid"], ["round", "int", "x.round"], ["turn_id", "text", "x.turn_id"],
      ["model", "text", "x.model"], ["message_id", "text", "x.message_id"], ["started_at", "text", "x.started_at"], ["first_token_at", "text", "x.first_token_at"],
      ["ended_at", "text", "x.ended_at"], ["ttft_ms", "real", "x.ttft_ms"], ["duration_ms", "real", "x.duration_ms"],
      ["output_tokens_per_s", "real", "x.output_tokens_per_s"], ["input_tokens", "int", "x.input_tokens"], ["output_tokens", "int", "x.output_tokens"],
      ["cache_read_tokens", "int", "x.cache_read_tokens"], ["cache_write_tokens", "int", "x.cache_write_tokens"], ["stop_reason", "text", "x.stop_reason"],
      ["lines", "int", "x.lines"],
    ],
  },
];

/** One CSV field, never NULL in SQL (a NULL would make the whole line NULL). */
export function csvField(kind: ColumnKind, expr: string): string {
  // (NULL concatenated is NULL: the coalesce makes it an empty field, which COPY reads as NULL)
  if (kind === "text") return `coalesce('"' || replace(${expr}, '"', '""') || '"', '')`;
  // CAST: a value of another type in a column (SQLite keeps what it is given) must not stop COPY
  return `coalesce(CAST(${expr} AS ${kind === "int" ? "INTEGER" : "REAL"}), '')`;
}

/** The SQL of one row's CSV line, the device number first; archive columns empty unless sent. */
export function csvLineSql(t: PushTable, device: number, withArchive: boolean): string {
  const fields = t.columns.map(([name, kind, expr]) => (ARCHIVE_COLUMNS.has(name) && !withArchive ? "''" : csvField(kind, expr)));
  return `${device | 0} || ',' || ${fields.join(" || ',' || ")} || char(10)`;
}

/** The store's columns in CSV order. */
export function storeColumns(t: PushTable): string[] {
  return ["device", ...t.columns.map(([name]) => name)];
}
