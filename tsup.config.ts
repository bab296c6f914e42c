import { defineConfig } from "tsup";

// TypeScript 6 deprecates options that tsup's .d.ts step still sets.
const dts = { compilerOptions: { ignoreDeprecations: "6.0" } };

export default defineConfig([
  {
    // ESM + CJS for bundlers and Node. nanoevents is ESM-only, so the CJS build
    // carries its own copy instead of require()-ing an ES module.
    entry: { index: "src/index.ts", node: "src/node.ts", "stores/memory": "src/stores/memory.ts" },
    format: ["esm", "cjs"],
    platform: "neutral",
    target: "es2022",
    dts,
    clean: true,
    sourcemap: true,
    splitting: true,
    treeshake: true,
    metafile: true,
  },
  {
    // The script-tag bundle: `new sessionmanager.SessionManager(...)`.
    entry: { sessionmanager: "src/index.ts" },
    format: ["iife"],
    globalName: "sessionmanager",
    platform: "browser",
    target: "es2020",
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    outExtension: () => ({ js: ".global.js" }),
  },
]);
