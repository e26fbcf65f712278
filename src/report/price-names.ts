// How a model id is looked up in the price table: the same normal form for the ids in the logs, the
// names the dataset gives its models (price-snapshot.ts) and the keys of a --prices file.

/**
 * A model name in its normal form: lower case, without a provider or gateway path
 * ("anthropic/", "openrouter/openai/"), a Bedrock prefix ("us.anthropic."), a Vertex release
 * ("@20250514") or a context tag ("[1m]").
 */
export function normalizeModelName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^.*\//, "")
    .replace(/^(?:[a-z]{2,6}\.)?(?:anthropic|openai)\./, "")
    .replace(/\[[^\]]*\]$/, "")
    .replace(/@.*$/, "");
}

/** A normal-form id without its release date: -20250514 (Anthropic) or -2025-04-14 (OpenAI). */
export function withoutDate(id: string): string {
  return id.replace(/-\d{8}$/, "").replace(/-\d{4}-\d{2}-\d{2}$/, "");
}
