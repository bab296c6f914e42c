// The documentation site (`npm run docs`, out to docs-site/): the API reference from the TSDoc
// comments of every public entry, and the guides in docs/guides/ in the same site.
// The entries are read from scripts/entries.mjs, the list package.json's "exports" is written
// from, so a new entry point is documented (and its undocumented exports fail the build) as
// soon as it is added there. docs/typedoc-plugin.mjs names each module by its import path.
import { entries } from "./scripts/entries.mjs";

/** @type {Partial<import("typedoc").TypeDocOptions>} */
const config = {
  name: "sessionmanager-js",
  entryPoints: entries.filter((entry) => entry.export).map((entry) => entry.src),
  entryPointStrategy: "resolve",
  tsconfig: "tsconfig.json",
  // `npm run typecheck` checks the types; the docs build only reads them.
  skipErrorChecking: true,
  out: "docs-site",
  readme: "docs/index.md",
  searchInDocuments: true,
  // In reading order (test/docs/ fails when a guide in docs/guides/ is left out).
  projectDocuments: [
    "docs/guides/getting-started.md",
    "docs/guides/browser-stores.md",
    "docs/guides/encryption.md",
    "docs/guides/tabs.md",
    "docs/guides/server-and-sync.md",
    "docs/guides/realtime.md",
    "docs/guides/frameworks.md",
    "docs/guides/activity.md",
    "docs/guides/security.md",
    "docs/guides/recipes.md",
    "docs/guides/express-session.md",
    "docs/guides/cookies.md",
  ],
  plugin: ["./docs/typedoc-plugin.mjs"],
  highlightLanguages: [
    ...["bash", "console", "css", "html", "javascript", "json", "jsonc", "json5", "yaml"],
    ...["tsx", "typescript", "sh", "svelte", "vue"],
  ],
  includeVersion: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  sort: ["kind", "instance-first", "alphabetical-ignoring-documents"],
  // The guides first, then the entries in the order of scripts/entries.mjs (root, core, stores, …).
  groupOrder: ["Guides", "*"],
  sortEntryPoints: false,
  navigation: { includeCategories: false, includeGroups: true, includeFolders: false },
  // Broken links and undocumented exports fail the build (and `npm test`, test/docs/).
  validation: { notExported: true, invalidLink: true, notDocumented: true, rewrittenLink: true },
  treatWarningsAsErrors: true,
  // Shown by name where another file's type names them (TypeDoc inlines `@inline` types only
  // within their own file); both are spelled out where they are used.
  // Members of one-line object types in the code (`{ max: number; ttl?: number }`), documented by
  // the comment of what holds them.
  intentionallyNotDocumented: [
    "sessionmanager-js.AddOptions.__type.data",
    "sessionmanager-js.AnySessionError.__type.code",
    "sessionmanager-js.SessionManagerOptions.__type.backend",
    "sessionmanager-js.SessionManagerOptions.__type.cache.__type.max",
    "sessionmanager-js.SessionManagerOptions.__type.cache.__type.ttl",
    "sessionmanager-js.SessionManagerOptions.__type.remote",
    "sessionmanager-js.WriteCondition.__type.ifAbsent",
    "sessionmanager-js.WriteCondition.__type.ifVersion",
    "sessionmanager-js/server.ErrorBody.error.__type.code",
    "sessionmanager-js/server.ErrorBody.error.__type.message",
    "sessionmanager-js/server.ServeOptions.cache.__type.max",
    "sessionmanager-js/server.ServeOptions.cache.__type.ttl",
    "sessionmanager-js/server.ServeOptions.cors.__type.origins",
    "sessionmanager-js/server.SessionServerOptions.cache.__type.max",
    "sessionmanager-js/server.SessionServerOptions.cache.__type.ttl",
    "sessionmanager-js/server.SessionServerOptions.cors.__type.origins",
    "sessionmanager-js/server.WireSession.__type.encrypted",
    "sessionmanager-js/stores/memcached.MemcachedResponse.header.__type.cas",
    "sessionmanager-js/stores/memcached.MemcachedResponse.header.__type.status",
    // Redis EVALSHA and EVAL, as in ScriptClient (src/stores/redis/scripts.ts): a comment on each
    // would make the two declarations a six-line clone for check:duplicates.
    "sessionmanager-js/stores/redis.RedisClient.eval",
    "sessionmanager-js/stores/redis.RedisClient.evalsha",
    "sessionmanager-js/stores/postgres.PostgresClient.query.__type.rowCount",
    "sessionmanager-js/stores/postgres.PostgresClient.query.__type.rows",
    "sessionmanager-js/stores/sqlite.SqliteDatabase.prepare.__type.run.__type.changes",
  ],
  intentionallyNotExported: [
    "src/stores/backends.ts:NodeBackendName",
    "src/crypto/jwe.ts:EncryptionKey",
  ],
  treatValidationWarningsAsErrors: true,
  githubPages: false,
  // Source links point at GitHub (a checkout's remote may be missing or local).
  disableGit: true,
  gitRevision: "main",
  sourceLinkTemplate:
    "https://github.com/sessionmanager-js/sessionmanager-js/blob/{gitRevision}/{path}#L{line}",
};

export default config;
