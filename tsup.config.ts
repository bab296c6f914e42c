import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { defineConfig, type Options } from "tsup";
import { entry, globalBundles, libraryEntries } from "./scripts/entries.mjs";

// The entries and what they are built from: scripts/entries.mjs, which also writes package.json's
// "exports" (`npm run entries`) and names the files .size-limit.cjs measures.
const browserBackends = `./${entry("backends/browser").src}`;

/**
 * Property names that only this package's own objects have (the manager's parts, hooks and
 * private members, the expiry, the scheduler, the read cache, the vault, the write loop's
 * steps, the sync client's and the replica's private members), shortened in every build: a
 * minifier keeps property names, and these are most of what the manager's split into modules
 * added to a page (~120 B gzip, ~130 B more on the script tag from the sync names). None is in a
 * public type (the .d.ts files, built from the sources, keep every name; private members are
 * only named there), none is read by a name made at run time or sent over the wire or between
 * tabs, and no dependency (bundled: ky, idb, nanoevents; external: the drivers, express-session,
 * the frameworks the adapters serve) or platform API uses one. A name added here must meet all
 * of these: plain words (`first`, `tail`, `state`, `closed`) are here, so never give an object a
 * framework or a user reads a property of one of these names.
 */
const mangleProps =
  /^(adopt|again|attach|attempts|authorized|authReported|checkOpen|clock|closed|codec|conflict|decide|echoed|emitter|ended|exclusive|expire|expiredCopy|expiry|fail|failures|fellBack|first|forgetAll|getToken|gone|heard|keep|known|later|listed|loaded|loadParts|lockName|logs|merge|moved|needs|notify|openConflict|outbox|parts|peek|publish|pullMs|queued|readAll|recheck|refused|remember|renewToken|retried|reveal|rtt|running|sample|schedule|setCursor|setExpired|snapshot|stamp|state|stopPolling|stopPulling|sweep|tabCache|tabs|tail|toLocal|toServer|touchWith|ttlMs|underlying|underWay|vault|warnMs|wire|withSyncLock|writeSession)$/;

const library: Options = {
  entry: libraryEntries,
  platform: "neutral",
  target: "es2022",
  // TypeScript 6 deprecates options that tsup's .d.ts step still sets.
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  sourcemap: true,
  treeshake: true,
  metafile: true,
  external: ["#backends"],
  esbuildOptions(options) {
    options.mangleProps = mangleProps;
    // Class fields as assignments in the constructor, as in the script-tag bundle: they minify
    // smaller than definitions (~40 B gzip on a page). No class here relies on define semantics
    // (no field shadows an accessor); an optional field never set is absent rather than an own
    // property holding undefined, as it always was in the script-tag bundle.
    delete options.tsconfig;
    options.tsconfigRaw = {
      compilerOptions: { useDefineForClassFields: false, verbatimModuleSyntax: true },
    };
  },
};

/**
 * For the script-tag bundle, which holds every module anyway: `import("./x.ts")` in our sources
 * becomes a static import, so that esbuild need not wrap the modules loaded that way in lazy
 * initialisers (~0.2 kB gzip). Our modules have no side effects on import, so loading them up
 * front changes nothing but when they are evaluated. What the import resolves to is an object
 * of the module's exports, as named imports, rather than its namespace object, which esbuild
 * would build from getters (~45 B gzip for the nine modules).
 */
const staticImports: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "static-imports",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const dynamic = /\bimport\("(\.{1,2}\/[^"]+)"\)/g;
      const paths = [...source.matchAll(dynamic)].map((match) => match[1] as string);
      const exported = await Promise.all(
        paths.map(async (path) =>
          valueExports(await readFile(resolve(dirname(args.path), path), "utf8"), path),
        ),
      );
      const imports: string[] = [];
      const contents = source.replace(dynamic, (_, path: string) => {
        const names = exported[imports.length] ?? [];
        const local = (name: string) => `__static${imports.length}_${name}`;
        const object = names.map((name) => `${name}: ${local(name)}`).join(", ");
        const specifiers = names.map((name) => `${name} as ${local(name)}`).join(", ");
        imports.push(`import { ${specifiers} } from ${JSON.stringify(path)};`);
        return `Promise.resolve({ ${object} })`;
      });
      return { contents: `${imports.join("")}${contents}`, loader: "ts" };
    });
  },
};

/** The values a module loaded with import() exports: each declared with `export`. */
function valueExports(source: string, path: string): string[] {
  if (/^export\s*[{*]/m.test(source)) {
    throw new Error(`static-imports: ${path} re-exports; declare its exports where they are made`);
  }
  const declared = /^export (?:async )?(?:function\*?|class|const|let) (\w+)/gm;
  return [...source.matchAll(declared)].map((match) => match[1] as string);
}

/**
 * For the script-tag bundle: an object of the entry's exports is assigned to the global that a
 * banner declares (`var sessionmanager;` before the IIFE, as esbuild's `globalName` declares it),
 * rather than a namespace object of getters returned through esbuild's CommonJS interop
 * (`__toCommonJS`, which copies every getter onto an object marked `__esModule`): ~165 B gzip.
 * The global is set once the bundle has run, as before, and holds the same names and values,
 * as plain properties; the `__esModule` marker, which no script reads, is gone. The names are
 * the entry's exports as esbuild finds them, so none can be left out.
 */
const assignGlobal = (global: string): NonNullable<Options["esbuildPlugins"]>[number] => ({
  name: "assign-global",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "entry-point"
        ? { path: resolve(args.resolveDir, args.path), namespace: "assign-global" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "assign-global" }, async (args) => {
      const { alias, tsconfigRaw } = build.initialOptions;
      const { metafile } = await build.esbuild.build({
        entryPoints: [args.path],
        ...(alias && { alias }),
        ...(tsconfigRaw !== undefined && { tsconfigRaw }),
        bundle: true,
        write: false,
        metafile: true,
        format: "esm",
        logLevel: "silent",
      });
      const names = Object.values(metafile?.outputs ?? {}).flatMap((output) => output.exports);
      if (names.length === 0) throw new Error(`assign-global: ${args.path} exports nothing`);
      const list = names.join(", ");
      return {
        contents: `import { ${list} } from ${JSON.stringify(args.path)};\n${global} = { ${list} };\n`,
        resolveDir: dirname(args.path),
        loader: "js",
      };
    });
  },
});

export default defineConfig([
  // ESM for bundlers and Node: shared code in chunks, so every entry sees the same classes.
  { ...library, format: ["esm"], splitting: true, clean: true },
  // CJS: nanoevents is ESM-only, so the CJS build carries its own copy rather than require()-ing
  // an ES module (which only Node 20.19+ can do). Split into shared chunks like the ESM build, so
  // that every entry (and `#backends`, a separate file) has the same error classes.
  { ...library, format: ["cjs"], noExternal: ["nanoevents"], splitting: true },
  // The script-tag bundle: `new sessionmanager.SessionManager(...)`.
  ...globalBundles.map(
    (bundle): Options => ({
      entry: { [bundle.name]: bundle.src },
      format: ["iife"],
      banner: { js: `var ${bundle.global};` },
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
        options.alias = { "#backends": browserBackends };
        options.mangleProps = mangleProps;
      },
      esbuildPlugins: [assignGlobal(bundle.global), staticImports],
      minify: true,
      sourcemap: true,
      noExternal: [/.*/],
      outExtension: () => ({ js: ".global.js" }),
    }),
  ),
]);
