// Part 3: what each binding adds to a page, gzip level 9 (kB = 1000 bytes, as size-limit). Each
// entry of dist/ bundled alone with esbuild (minified ESM for the browser; react, react-dom, vue
// and svelte external, as an app brings its own), then beside the core SessionManager, less the
// core alone: the binding's cost beyond the core. react-idle-timer is bundled the same way in the
// same run, for comparison.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { built, distPath } from "../lib/dist.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const budgets = createRequire(import.meta.url)("../../.size-limit.cjs");
const bytesOf = (text) => Math.round(Number.parseFloat(text) * (/kB/.test(text) ? 1000 : 1));
/** The CI limit (.size-limit.cjs) of the budget that measures dist/`file` alone. */
const limitOf = (file) => {
  const budget = budgets.find((b) => b.path === `dist/${file}`);
  return budget && bytesOf(budget.limit);
};
const external = ["react", "react-dom", "react/jsx-runtime", "vue", "svelte", "svelte/store"];

async function bundle(contents) {
  const out = await build({
    stdin: { contents, resolveDir: root, sourcefile: "bench-entry.js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    external,
    nodePaths: [join(root, "node_modules")],
  });
  const code = Buffer.concat(out.outputFiles.map((file) => file.contents));
  return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

/** An import of the build's `file` (dist/ or SESSIONMANAGER_DIST). */
const from = (file) => JSON.stringify(distPath(file));
const core = `export { SessionManager } from ${from("core.js")};`;

const bindings = [
  ["React hooks", "react.js", 1000],
  ["Vue composables", "vue.js", undefined],
  ["Svelte stores", "svelte.js", undefined],
];

const references = [
  ["react-idle-timer { useIdleTimer }", `export { useIdleTimer } from "react-idle-timer";`],
  ["react-idle-timer, everything", `export * from "react-idle-timer";`],
];

export async function measureSize() {
  built("core.js");
  const base = await bundle(core);
  const rows = [];
  const failures = [];
  for (const [name, file, target] of bindings) {
    try {
      built(file);
      const alone = await bundle(`export * from ${from(file)};`);
      const withCore = await bundle(`${core}\nexport * from ${from(file)};`);
      if (alone.gzip < 100) throw new Error(`dist/${file} exports nothing yet (a placeholder)`);
      rows.push({
        name,
        alone,
        beyondCore: withCore.gzip - base.gzip,
        target,
        limit: limitOf(file),
      });
    } catch (error) {
      failures.push({ part: name, error: String(error?.message ?? error).split("\n")[0] });
    }
  }
  for (const [name, entry] of references) {
    try {
      rows.push({ name: `reference: ${name}`, alone: await bundle(entry), reference: true });
    } catch (error) {
      failures.push({ part: name, error: String(error?.message ?? error).split("\n")[0] });
    }
  }
  return { core: base, rows, failures };
}
