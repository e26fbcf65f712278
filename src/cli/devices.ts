import { defineCommand } from "citty";
import { SluiceError, EXIT_USAGE } from "../runtime/errors";
import { count as n } from "../runtime/format";
import { listDevices } from "../team/devices";
import { storeUrl } from "../team/url";
import { config, envOrConfig } from "../runtime/config";
import { jsonArg } from "./flags";
import { helpMeta } from "./help";
import { printJson, textOutput } from "./output";
import { renderTable, type Column } from "./table";
import { writeOut } from "../runtime/stdio";

/** A 15-minute bucket or a time as a person reads it: "2026-03-01 14:15" (UTC). */
const minute = (t: string | null) => (t ? t.slice(0, 16).replace("T", " ") : "-");

export default defineCommand({
  meta: helpMeta({
    name: "devices",
    description: "The devices of a team store: who pushed what, and when",
    examples: ["sluice devices --from postgres://sluice@db.internal/usage", "sluice devices --from postgres://sluice@db.internal/usage --json"],
  }),
  args: {
    from: { type: "string", description: "The team store: postgres://user@host[:port]/database (default: $SLUICE_PUSH_URL); the password from PGPASSWORD or ~/.pgpass", valueHint: "url", group: "input" },
    ...jsonArg,
  },
  async run({ args }) {
    if (args.from === "") throw new SluiceError("--from needs a postgres:// URL", EXIT_USAGE);
    const url = storeUrl(args.from ?? envOrConfig("SLUICE_PUSH_URL", config().push?.url));
    const devices = await listDevices(url);
    if (args.json) {
      printJson({ store: url.masked, devices });
      return;
    }
    if (!devices.length) {
      writeOut(`${url.masked} has no devices yet; 'sluice push ${url.masked}' adds this one\n`);
      return;
    }
    const num = (head: string): Column => ({ head, align: "right" });
    const columns: Column[] = [
      { head: "Device", align: "left" }, { head: "User", align: "left" }, { head: "Host", align: "left", optional: true }, num("Sessions"), num("Calls"),
      num("Tokens"), { head: "Last activity (UTC)", align: "left" }, { head: "Last push (UTC)", align: "left" }, { head: "Id", align: "left", optional: true },
    ];
    const rows = devices.map((d) => [d.name, d.user, d.host, n(d.sessions), n(d.calls), n(d.tokens), minute(d.last_activity), minute(d.last_push_at), d.device_id]);
    writeOut(renderTable(columns, rows, textOutput()) + "\n");
  },
});
