// What the benchmarks ask of an index: two-word search queries from the archive's own prompts and
// answers (a query a person could type about that history: most match thousands of messages, some
// few; the same list for every build and run), and Claude Code's status JSON for its largest
// session.

import type { Database } from "bun:sqlite";

/** `n` two-word queries from the first 2,000 prompts and answers of the archive in `db`. */
export function twoWordQueries(db: Database, n: number): string[] {
  const texts = db.query("SELECT text FROM messages WHERE kind IN ('prompt', 'text') AND length(text) > 40 ORDER BY id LIMIT 2000").all() as Array<{ text: string }>;
  const words = texts.flatMap((t) => t.text.split(/[^\p{L}]+/u).filter((w) => w.length >= 4)).slice(0, 5000);
  return Array.from({ length: n }, (_, i) => `${words[(i * 7919) % words.length]} ${words[(i * 104729 + 13) % words.length]}`);
}

/** A Claude session of the index in `db` with its transcript, and Claude Code's status JSON for it. */
export function statusJson(db: Database): string {
  const s = db.query("SELECT agent_session_id AS id, file FROM sessions WHERE agent = 'claude' AND parent_session IS NULL ORDER BY turns DESC LIMIT 1").get() as { id: string; file: string };
  return JSON.stringify({
    hook_event_name: "Status", session_id: s.id, transcript_path: s.file, cwd: "/work", model: { id: "claude-opus-4-6", display_name: "Opus 4.6" },
    cost: { total_cost_usd: 1.5 }, context_window: { context_window_size: 200_000, total_input_tokens: 1000, total_output_tokens: 100, current_usage: { input_tokens: 10, cache_creation_input_tokens: 1000, cache_read_input_tokens: 40_000, output_tokens: 50 } },
    rate_limits: { five_hour: { used_percentage: 20, resets_at: Math.floor(Date.now() / 1000) + 3600 } },
  });
}
