// The page's assets, embedded in the binary (no CDN: the dashboard works offline): uPlot's script
// and stylesheet, and the dashboard's own script and stylesheet.

// @ts-ignore: a text import, inlined by Bun's bundler
import uplotJs from "../../node_modules/uplot/dist/uPlot.iife.min.js" with { type: "text" };
// @ts-ignore
import uplotCss from "../../node_modules/uplot/dist/uPlot.min.css" with { type: "text" };
// @ts-ignore
import appJs from "./static/app.js" with { type: "text" };
// @ts-ignore
import appCss from "./static/app.css" with { type: "text" };

export const ASSETS: Record<string, { body: string; type: string }> = {
  "/static/uPlot.iife.min.js": { body: uplotJs as string, type: "text/javascript; charset=utf-8" },
  "/static/uPlot.min.css": { body: uplotCss as string, type: "text/css; charset=utf-8" },
  "/static/app.js": { body: appJs as string, type: "text/javascript; charset=utf-8" },
  "/static/app.css": { body: appCss as string, type: "text/css; charset=utf-8" },
};
