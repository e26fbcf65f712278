// The words of sluice's commands, each with an entry point of its own in this folder (src/main.ts
// loads the one named; build.ts builds each into the executable). A list and nothing else: the
// first thing every command loads.

export const COMMANDS = ["ingest", "status", "stats", "check", "backup", "vacuum", "service", "index", "report", "prices", "statusline", "push", "devices", "export", "search", "show", "mcp", "serve"] as const;

export type CommandWord = (typeof COMMANDS)[number];

/** The flags every command takes, anywhere on the line, and the variable each sets. */
export const GLOBAL_FLAGS: Readonly<Record<string, string>> = { "--no-color": "SLUICE_NO_COLOR", "--debug": "SLUICE_DEBUG" };
