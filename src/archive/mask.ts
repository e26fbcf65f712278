// Credentials in what people and agents wrote, masked before the text reaches the search index
// (and so search, show and mcp output). The archive's bytes and `export` keep them: the database
// is the user's own, mode 0600.

/** What each kind of credential looks like; the replacement names the kind, never the value. */
const PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)/g, "[masked: private key]"],
  [/\bsk-ant-[A-Za-z0-9_-]{16,}/g, "[masked: Anthropic key]"],
  [/\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g, "[masked: OpenAI key]"],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, "[masked: GitHub token]"],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/g, "[masked: GitHub token]"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, "[masked: Slack token]"],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, "[masked: AWS key]"],
  [/\bAIza[0-9A-Za-z_-]{35}/g, "[masked: Google key]"],
  [/\bglpat-[A-Za-z0-9_-]{20,}/g, "[masked: GitLab token]"],
  [/\b(?:sk|rk)_live_[A-Za-z0-9]{20,}/g, "[masked: Stripe key]"],
  [/\b(Bearer|Token)(\s+)[A-Za-z0-9._~+/=-]{16,}/g, "$1$2[masked: token]"],
  // a password in a URL: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"<>]+:)[^\s@/'"<>]+@/gi, "$1[masked: password]@"],
  // KEY=value for names that say what they hold
  // (a value an earlier rule masked already is left as that rule named it)
  [/\b([A-Z0-9_]*(?:API_KEY|SECRET|TOKEN|PASSWORD|PASSWD)[A-Z0-9_]*\s*[=:]\s*["']?)(?!\[masked: )[^\s"']{8,}/g, "$1[masked: secret]"],
];

/** A cheap test first: most text holds none of these, and is returned as it is. */
const MAYBE = /sk-|gh[pousr]_|github_pat_|xox|AKIA|ASIA|AIza|glpat-|_live_|PRIVATE KEY|Bearer|Token|:\/\/[^\s/]*:[^\s/]*@|API_KEY|SECRET|TOKEN|PASSW/;

export function maskSecrets(text: string): string {
  if (!MAYBE.test(text)) return text;
  let out = text;
  for (const [re, by] of PATTERNS) out = out.replace(re, by);
  return out;
}
