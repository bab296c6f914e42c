// Every file the package builds, in one list. tsup.config.ts builds these entries,
// `npm run entries` (scripts/exports.mjs) writes package.json's "exports" from them and
// `npm run check:entries` (in `npm test`) fails when package.json says otherwise, and
// .size-limit.cjs names the files it measures through `dist()`. To add an entry point, add it
// at the end (the order is the build's entry order, on which esbuild's shared chunks depend, and
// the order of "exports") and run `npm run entries`.
//
// Each entry:
//   name    its file under dist/, without extension (dist/<name>.js, .cjs, .d.ts, .d.cts)
//   src     the source it is built from
//   export  the subpath users import it by; none for what only package.json "imports" (#backends)
//           or "bin" name, which is built all the same
//   node    (optional) the entry served instead under the `node` condition: the root entry, whose
//           Node build can name the Node stores by string
//   global  (optional) an IIFE for script tags with this global name (dist/<name>.global.js),
//           built apart from the library (tsup.config.ts), and never in "exports"

/** @typedef {{ name: string, src: string, export?: string, node?: string, global?: string }} Entry */

/** @type {readonly Entry[]} */
export const entries = [
  { name: "index", src: "src/index.ts", export: ".", node: "node" },
  { name: "node", src: "src/node.ts" },
  { name: "core", src: "src/core.ts", export: "./core" },
  // `#backends` (package.json "imports"): the Node stores by name under the `node` condition,
  // none elsewhere. Kept external in the library build, so the condition is chosen where the
  // package is used.
  { name: "backends/node", src: "src/stores/node-backends.ts" },
  { name: "backends/browser", src: "src/stores/browser-backends.ts" },
  { name: "stores/memory", src: "src/stores/memory.ts", export: "./stores/memory" },
  { name: "stores/webstorage", src: "src/stores/webstorage.ts", export: "./stores/webstorage" },
  { name: "stores/indexeddb", src: "src/stores/indexeddb/index.ts", export: "./stores/indexeddb" },
  { name: "crypto", src: "src/crypto/index.ts", export: "./crypto" },
  // Node only: the server, the command and the Node stores (their drivers stay external).
  { name: "server", src: "src/server/index.ts", export: "./server" },
  { name: "cli", src: "src/cli.ts" },
  { name: "stores/file", src: "src/stores/file/index.ts", export: "./stores/file" },
  { name: "stores/sqlite", src: "src/stores/sqlite.ts", export: "./stores/sqlite" },
  { name: "stores/postgres", src: "src/stores/postgres.ts", export: "./stores/postgres" },
  { name: "stores/redis", src: "src/stores/redis.ts", export: "./stores/redis" },
  { name: "stores/memcached", src: "src/stores/memcached/index.ts", export: "./stores/memcached" },
  { name: "stores/cached", src: "src/stores/cached.ts", export: "./stores/cached" },
  { name: "remote", src: "src/sync/index.ts", export: "./remote" },
  // UI bindings: React hooks, Vue composables, Svelte stores (react and vue stay external).
  { name: "react", src: "src/react/index.ts", export: "./react" },
  { name: "vue", src: "src/vue/index.ts", export: "./vue" },
  { name: "svelte", src: "src/svelte/index.ts", export: "./svelte" },
  // Server-side sessions with cookies (Node and edge runtimes): an express-session Store, and
  // signed-cookie sessions with adapters for Hono, Fastify, Next.js, Nuxt/H3 and SvelteKit.
  { name: "express-session", src: "src/express-session/index.ts", export: "./express-session" },
  { name: "cookies", src: "src/cookies/index.ts", export: "./cookies" },
  // The script-tag bundle: `new sessionmanager.SessionManager(...)`.
  { name: "sessionmanager", src: "src/index.ts", global: "sessionmanager" },
];

const byName = new Map(entries.map((entry) => [entry.name, entry]));

/** The library's entries (ESM and CJS builds) as tsup's `entry` object: name → source. */
export const libraryEntries = Object.fromEntries(
  entries.filter((entry) => !entry.global).map((entry) => [entry.name, entry.src]),
);

/** The script-tag bundles (IIFE builds): each one's name, source and global name. */
export const globalBundles = entries
  .filter((entry) => entry.global)
  .map(({ name, src, global }) => ({ name, src, global }));

/** The entry called `name`; throws if the list has none, so a renamed entry fails loudly. */
export function entry(name) {
  const found = byName.get(name);
  if (!found) throw new Error(`scripts/entries.mjs has no entry "${name}"`);
  return found;
}

const EXTENSIONS = { esm: ".js", cjs: ".cjs", types: ".d.ts", "types-cjs": ".d.cts" };

/**
 * The built file of entry `name`, relative to the package: `dist/<name>.js` by default,
 * `kind` "cjs", "types" or "types-cjs" for the others; a global entry's one file
 * (dist/<name>.global.js) whatever the kind.
 */
export function dist(name, kind = "esm") {
  if (entry(name).global) return `dist/${name}.global.js`;
  if (!(kind in EXTENSIONS)) throw new Error(`dist(): unknown kind "${kind}"`);
  return `dist/${name}${EXTENSIONS[kind]}`;
}

/** ESM and CJS, each with its types first (as publint and attw want). */
function conditions(name) {
  return {
    import: { types: `./${dist(name, "types")}`, default: `./${dist(name)}` },
    require: { types: `./${dist(name, "types-cjs")}`, default: `./${dist(name, "cjs")}` },
  };
}

/** package.json's "exports", as the list makes it. */
export function exportsMap() {
  const map = {};
  for (const { name, export: subpath, node } of entries) {
    if (!subpath) continue;
    map[subpath] = node
      ? { node: conditions(node), browser: conditions(name), default: conditions(name) }
      : conditions(name);
  }
  map["./package.json"] = "./package.json";
  return map;
}

/** Every file the builds write for the entries (all kinds), as `./dist/…` paths. */
export function builtFiles() {
  return new Set(
    entries.flatMap(({ name, global }) =>
      global ? [`./${dist(name)}`] : Object.keys(EXTENSIONS).map((kind) => `./${dist(name, kind)}`),
    ),
  );
}
