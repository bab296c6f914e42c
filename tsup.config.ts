import { readFile } from "node:fs/promises";
import { defineConfig, type Options } from "tsup";

const entry = {
  index: "src/index.ts",
  node: "src/node.ts",
  core: "src/core.ts",
  // `#backends` (package.json `imports`): the Node stores by name under the `node` condition, none
  // elsewhere. Kept external below, so the condition is chosen where the package is used.
  "backends/node": "src/stores/node-backends.ts",
  "backends/browser": "src/stores/browser-backends.ts",
  "stores/memory": "src/stores/memory.ts",
  "stores/webstorage": "src/stores/webstorage.ts",
  "stores/indexeddb": "src/stores/indexeddb/index.ts",
  crypto: "src/crypto/index.ts",
  // Node only: the server, the command and the Node stores (their drivers stay external).
  server: "src/server/index.ts",
  cli: "src/cli.ts",
  "stores/file": "src/stores/file/index.ts",
  "stores/sqlite": "src/stores/sqlite.ts",
  "stores/postgres": "src/stores/postgres.ts",
  "stores/redis": "src/stores/redis.ts",
  "stores/memcached": "src/stores/memcached/index.ts",
  "stores/cached": "src/stores/cached.ts",
  remote: "src/sync/index.ts",
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
  external: ["#backends"],
};

/**
 * For the script-tag bundle, which holds every module anyway: `import("./x.ts")` in our sources
 * becomes a static import, so that esbuild need not wrap the modules loaded that way in lazy
 * initialisers (~0.2 kB gzip). Our modules have no side effects on import, so loading them up
 * front changes nothing but when they are evaluated.
 */
const staticImports: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "static-imports",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const imports: string[] = [];
      const contents = (await readFile(args.path, "utf8")).replace(
        /\bimport\("(\.{1,2}\/[^"]+)"\)/g,
        (_, path: string) => {
          const name = `__static${imports.length}`;
          imports.push(`import * as ${name} from ${JSON.stringify(path)};`);
          return `Promise.resolve(${name})`;
        },
      );
      return {
        contents: imports.length ? `${imports.join("")}${contents}` : contents,
        loader: "ts",
      };
    });
  },
};

export default defineConfig([
  // ESM for bundlers and Node: shared code in chunks, so every entry sees the same classes.
  { ...library, format: ["esm"], splitting: true, clean: true },
  // CJS: nanoevents is ESM-only, so the CJS build carries its own copy rather than require()-ing
  // an ES module (which only Node 20.19+ can do). Split into shared chunks like the ESM build, so
  // that every entry (and `#backends`, a separate file) has the same error classes.
  { ...library, format: ["cjs"], noExternal: ["nanoevents"], splitting: true },
  // The script-tag bundle: `new sessionmanager.SessionManager(...)`.
  {
    entry: { sessionmanager: "src/index.ts" },
    format: ["iife"],
    globalName: "sessionmanager",
    platform: "browser",
    // Browsers from 2021 on. Each of these runs ky's private class members as written; with an
    // ES2020 target esbuild rewrote them into WeakMaps and helpers (+0.65 kB gzip).
    target: ["chrome91", "edge91", "firefox90", "safari15"],
    // Class fields as assignments in the constructor, which minify smaller than definitions.
    // (No class here relies on define semantics.)
    esbuildOptions(options) {
      delete options.tsconfig;
      options.tsconfigRaw = {
        compilerOptions: { useDefineForClassFields: false, verbatimModuleSyntax: true },
      };
      // A page can name no Node store.
      options.alias = { "#backends": "./src/stores/browser-backends.ts" };
    },
    esbuildPlugins: [staticImports],
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    outExtension: () => ({ js: ".global.js" }),
  },
]);
