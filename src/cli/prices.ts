// `sluice prices`: the price table the reports use, where it comes from and how old it is, and per
// model its prices in dollars per million tokens; --model narrows it and says how an id is priced.

import { defineCommand } from "citty";
import { matchPrice, pricesByName, priceTable, type Price, type PricedModel, type PriceMatch } from "../report/prices";
import { normalizeModelName } from "../report/price-names";
import { helpMeta } from "./help";
import { jsonArg } from "./flags";
import { printJson, textOutput } from "./output";
import { renderTable, wrapWords, type Column } from "./table";
import { writeOut } from "../runtime/stdio";

type Tier = Omit<Price, "threshold" | "above">;

/** A model as --json shows it: camelCase, the same fields a --prices file takes. */
function jsonRow(m: PricedModel) {
  const p = m.price;
  const tier = (t: Tier) => ({ input: t.input, output: t.output, cacheWrite5m: t.cacheWrite5m, cacheWrite1h: t.cacheWrite1h, cacheRead: t.cacheRead });
  return { model: m.id, aliases: m.names, provider: m.provider || null, origin: m.origin, ...tier(p), threshold: p.threshold ?? null, above: p.above ? tier(p.above) : null };
}

/** Dollars per million tokens as the table shows them: "$5", "$0.125", "$0.0375". */
const dollars = (n: number) => `$${+n.toFixed(6)}`;
/** 200000 -> "200k", 271999 -> "272k" (a tier that starts past 271,999 tokens). */
const kilo = (n: number) => `${Math.round(n / 1000)}k`;

function textTable(models: PricedModel[]): string {
  const num = (head: string, optional = false): Column => ({ head, align: "right", optional });
  const columns: Column[] = [
    { head: "Model", align: "left" }, num("Input"), num("Output"), num("Cache write 5m", true), num("Cache write 1h", true), num("Cache read", true),
    { head: "Long context: in / out", align: "left", optional: true }, { head: "Source", align: "left", optional: true },
  ];
  const rows = models.map((m) => {
    const p = m.price;
    const above = p.above && p.threshold !== undefined ? `>${kilo(p.threshold)}: ${dollars(p.above.input)} / ${dollars(p.above.output)}` : "";
    return [m.id, dollars(p.input), dollars(p.output), dollars(p.cacheWrite5m), dollars(p.cacheWrite1h), dollars(p.cacheRead), above, m.origin];
  });
  return renderTable(columns, rows, textOutput());
}

interface Lookup {
  model: string;
  match: PriceMatch["kind"];
  /** The table's name that matched, and the model it names. */
  key: string | null;
  pricedAs: string | null;
}

/** What --model says about the id it was given, in a line. */
function lookupLine(l: Lookup): string {
  const as = `${l.pricedAs}${l.key !== l.pricedAs ? ` (by its name ${l.key})` : ""}`;
  if (l.match === "exact") return `${l.model}: priced as ${as}`;
  if (l.match === "prefix") return `${l.model}: no price of its own; approximated by the family price of ${as}`;
  return `${l.model}: no price (it counts at $0 in reports; add it with --prices FILE)`;
}

export default defineCommand({
  meta: helpMeta({
    name: "prices",
    description: "The price table the reports use: its source, date, and per model the dollars per million tokens",
    examples: [
      "sluice prices --model claude-opus               # the Claude Opus models",
      "sluice prices --model claude-opus-4-7-20260416  # and how that id is priced: exactly, by a family prefix, or not",
      "sluice prices --prices my-prices.json --json    # the table with your own prices laid over it",
    ],
  }),
  args: {
    model: { type: "string", description: "Only models whose id or another name starts with this; also says how this id itself is priced", valueHint: "prefix", group: "input" },
    prices: { type: "string", description: "A JSON price table laid over the built-in one (as for 'sluice report')", valueHint: "file", group: "input" },
    ...jsonArg,
  },
  run({ args }) {
    const table = priceTable(args.prices);
    let models = table.models;
    let lookup: Lookup | null = null;
    if (args.model !== undefined) {
      const prefix = normalizeModelName(args.model);
      const m = matchPrice(args.model, pricesByName(models));
      const hit = m.price === null ? undefined : models.find((x) => x.price === m.price);
      lookup = { model: args.model, match: m.kind, key: m.key, pricedAs: hit?.id ?? null };
      models = models.filter((x) => x === hit || [x.id, ...x.names].some((n) => n.startsWith(prefix)));
    }
    if (args.json) {
      printJson({ source: table.source, overlay: table.overlay, unit: "USD per million tokens", models: models.map(jsonRow), ...(lookup ? { lookup } : {}) });
      return;
    }
    const from = `${table.source.package} ${table.source.version}, taken ${table.source.date}${table.overlay ? `, with ${table.overlay} laid over it` : ""}`;
    const out = wrapWords(`Prices in US dollars per million tokens, from ${from}: ${models.length} model${models.length === 1 ? "" : "s"}`, textOutput().width);
    if (models.length) out.push(textTable(models));
    // a prefix such as "claude-opus" is no model: "no price" is said only when nothing matched either
    if (lookup && (lookup.match !== "none" || !models.length)) out.push(lookupLine(lookup));
    writeOut(out.join("\n") + "\n");
  },
});
