import { defineConfig, type Options } from "tsup";

const entry = {
  index: "src/index.ts",
  node: "src/node.ts",
  "stores/memory": "src/stores/memory.ts",
  "stores/webstorage": "src/stores/webstorage.ts",
  "stores/indexeddb": "src/stores/indexeddb.ts",
  crypto: "src/crypto/index.ts",
};

const library: Options = {
  entry,
  platform: "neutral",
  target: "es2022",
  // TypeScript 6 deprecates options that tsup's .d.ts step still sets.
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  sourcemap: true,
  treeshake: true,
  metafile: true,
};

export default defineConfig([
  // ESM for bundlers and Node: shared code in chunks, so every entry sees the same classes.
  { ...library, format: ["esm"], splitting: true, clean: true },
  // CJS: nanoevents is ESM-only, so the CJS build carries its own copy rather than require()-ing
  // an ES module (which only Node 20.19+ can do).
  { ...library, format: ["cjs"], noExternal: ["nanoevents"] },
  // The script-tag bundle: `new sessionmanager.SessionManager(...)`.
  {
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
