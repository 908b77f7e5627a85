// Builds the website into dist/: one bundle per page (TypeScript compiled by
// esbuild, uPlot bundled in, no CDN), one stylesheet, and the HTML pages.
// The release server embeds dist/; a debug server reads it from disk.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
await build({
  entryPoints: {
    landing: "src/landing.ts",
    dashboard: "src/dashboard.ts",
    style: "src/style.css",
  },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "esm",
  target: ["es2022"],
  outdir: `${out}/assets`,
  logLevel: "warning",
});
cpSync("pages", out, { recursive: true });
console.log("built assets/web/dist");
