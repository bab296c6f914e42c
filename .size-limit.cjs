// Size budgets, gzip, checked by `npm run size` (and `npm run check:packaging` in CI).
// Stores named by string (`backend: "localStorage"`) load lazily with import(): a page pays for
// them only when it names them, so the budgets below count what loads up front and leave
// dynamic imports out; each store is counted where a page imports it (its subpath).
const eagerOnly = (config) => {
  config.plugins = [
    ...(config.plugins ?? []),
    {
      name: "dynamic-imports-load-later",
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) =>
          args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
        );
      },
    },
  ];
  return config;
};

module.exports = [
  {
    name: "SessionManager + memory store (ESM, eager code; target 3 kB, not met: see CHANGELOG)",
    path: "dist/index.js",
    import: "{ SessionManager }",
    gzip: true,
    limit: "6.1 kB",
    modifyEsbuildConfig: eagerOnly,
  },
  {
    name: "memory store alone",
    path: "dist/stores/memory.js",
    import: "{ memoryStore }",
    gzip: true,
    limit: "0.5 kB",
  },
  {
    name: "localStorage store alone (add to the manager's size)",
    path: "dist/stores/webstorage.js",
    import: "{ localStorageStore }",
    gzip: true,
    limit: "1.4 kB",
  },
  {
    name: "IndexedDB store alone, idb included (add to the manager's size)",
    path: "dist/stores/indexeddb.js",
    import: "{ indexedDBStore }",
    gzip: true,
    limit: "3.8 kB",
  },
  {
    name: "password helpers alone",
    path: "dist/crypto.js",
    import: "{ hashPassword, verifyPassword }",
    gzip: true,
    limit: "1.5 kB",
  },
  {
    name: "script-tag bundle (IIFE), everything (target 10 kB, not met: see CHANGELOG)",
    path: "dist/sessionmanager.global.js",
    gzip: true,
    limit: "14.3 kB",
  },
];
