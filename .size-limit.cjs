// Size budgets, gzip, checked by `npm run size` (and `npm run check:packaging` in CI).
// Code that loads with import() is counted only where a page loads it: a store named by string
// (`backend: "localStorage"`) is counted at its subpath, and the budgets of a manager with a store
// count what that store makes the manager load (tab sync and the read cache for the browser
// stores that tabs share, the crypto with `encryption`), but not the other stores or features.
// Each budget is what is measured today plus a little headroom; a target the issue set and this
// build does not meet yet is named beside it (see CHANGELOG). Files are named through the list of
// entries (scripts/entries.mjs), so that a renamed entry fails here rather than measuring nothing.
// The manager bundles grew by about 590 B gzip in 0.1.0's architecture work (the manager in
// modules, encryption as the store's view, partitions in the store guard); shortened internal
// names won back ~290 B of it, and the hardening of issue 11 (id and data limits, escaped
// namespaces, the paged sync client, rotate() and maxAge, counts) added ~700 B more. The
// budgets were raised to match, by cause in CHANGELOG, "Known issues"; the next step is to win
// that back. `sm.trackActivity` (issue 12) raised them once more: ~+290 B on the split manager
// bundles (the option checks and the method; the listening loads on first use) and ~+0.8 kB on
// the one-file pages and the script tag, which inline what loads later. `remote.live` (issue 13:
// the event stream, its SSE reader, change-log cursors) added ~1.2 kB to the script tag and the
// root one-file page (target 1.5 kB); the split bundles load it with the remote store.
// Issue 10's size rule then won back ~310 B gzip on every split manager bundle (each error class
// names itself instead of a table of all names, rotate() loaded on first use, more internal names
// shortened at build) and ~110 B on the script tag; the one-file core page is ~40 B larger for
// the rotate() module's wrapper. Budgets lowered (raised for that page) to measured + ~50 B.
// A second step won ~310 B on the script tag (its global an object of the entry's exports, not a
// namespace of getters behind esbuild's CommonJS interop; import() of our modules an object of
// named imports; more internal names shortened) and ~40 B on the core one-file page (rotate()
// makes that page wrap no module of its own); those budgets lowered to measured + ~50 B.
const { dist } = require("./scripts/entries.mjs");

/** Leaves out what loads with import(), except the modules whose path matches `keep`. */
const loadsLater = (keep) => (config) => {
  config.plugins = [
    ...(config.plugins ?? []),
    {
      name: "dynamic-imports-load-later",
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) =>
          args.kind === "dynamic-import" && !keep?.test(args.path)
            ? { path: args.path, external: true }
            : undefined,
        );
      },
    },
  ];
  return config;
};
// What a manager on a store that tabs share loads once it is open (src/open.ts `openParts`).
const sharedStore = /^\.\/(cache|tabs)-/;
const encrypted = /^\.\/(cache|tabs|codec)-/;

module.exports = [
  {
    name: "SessionManager + memory store (ESM, eager code; target 3 kB, not met: see CHANGELOG)",
    path: dist("index"),
    import: "{ SessionManager }",
    gzip: true,
    limit: "7.62 kB",
    modifyEsbuildConfig: loadsLater(),
  },
  {
    name: "SessionManager + localStorageStore, with the tab sync and cache it loads (target 4 kB, not met)",
    import: {
      [dist("index")]: "{ SessionManager }",
      [dist("stores/webstorage")]: "{ localStorageStore }",
    },
    gzip: true,
    limit: "9.39 kB",
    modifyEsbuildConfig: loadsLater(sharedStore),
  },
  {
    name: "SessionManager + indexedDBStore, with the tab sync and cache it loads (target 6 kB, not met; idb +1.0 kB)",
    import: {
      [dist("index")]: "{ SessionManager }",
      [dist("stores/indexeddb")]: "{ indexedDBStore }",
    },
    gzip: true,
    limit: "11.35 kB",
    modifyEsbuildConfig: loadsLater(sharedStore),
  },
  {
    name: "SessionManager + indexedDBStore + encryption (target 8 kB, not met; idb +1.0 kB)",
    import: {
      [dist("index")]: "{ SessionManager }",
      [dist("stores/indexeddb")]: "{ indexedDBStore }",
    },
    gzip: true,
    limit: "14.18 kB",
    modifyEsbuildConfig: loadsLater(encrypted),
  },
  {
    // What issue 9 asked for: a page bundled as one file (esbuild without splitting, extension
    // content scripts, library bundles) pays only for what it imports from the core entry.
    name: "one-file page: core SessionManager + indexedDBStore, everything inlined (target 12 kB; idb +1.0 kB)",
    import: {
      [dist("core")]: "{ SessionManager }",
      [dist("stores/indexeddb")]: "{ indexedDBStore }",
    },
    gzip: true,
    limit: "11.52 kB",
  },
  {
    // The same page on the root entry: its by-name loaders pull every browser feature into one file.
    name: "one-file page: root SessionManager + indexedDBStore, everything inlined (use the core entry; idb +1.0 kB)",
    import: {
      [dist("index")]: "{ SessionManager }",
      [dist("stores/indexeddb")]: "{ indexedDBStore }",
    },
    gzip: true,
    limit: "26.48 kB",
  },
  {
    name: "SessionManager from the core entry + memory store (eager code)",
    path: dist("core"),
    import: "{ SessionManager }",
    gzip: true,
    limit: "7.12 kB",
    modifyEsbuildConfig: loadsLater(),
  },
  {
    name: "memory store alone",
    path: dist("stores/memory"),
    import: "{ memoryStore }",
    gzip: true,
    limit: "0.5 kB",
  },
  {
    name: "localStorage store alone (add to the manager's size)",
    path: dist("stores/webstorage"),
    import: "{ localStorageStore }",
    gzip: true,
    limit: "1.42 kB",
  },
  {
    name: "IndexedDB store alone, with idb (+1.1 kB; add to the manager's size)",
    path: dist("stores/indexeddb"),
    import: "{ indexedDBStore }",
    gzip: true,
    limit: "3.54 kB",
  },
  {
    name: "password helpers alone",
    path: dist("crypto"),
    import: "{ hashPassword, verifyPassword }",
    gzip: true,
    limit: "1.22 kB",
  },
  {
    // With the remote client (ky) since it came in; its target is 16 kB (10 kB before it).
    name: "script-tag bundle (IIFE), everything (target 16 kB, not met: see CHANGELOG; idb +1.05 kB)",
    path: dist("sessionmanager"),
    gzip: true,
    limit: "26.65 kB",
  },
  // The UI bindings alone: they take the manager as an argument and import none of it, so each
  // is what it adds to a page that has the manager (react and vue, peers, are not counted).
  // `npm run bench:frameworks` measures them beside react-idle-timer.
  {
    // Counted alone; bundled beside the manager they add ~0.13 kB less (bench:frameworks).
    name: "React hooks, all five, alone (target 1 kB beyond the core)",
    path: dist("react"),
    import: "{ useSession, useSessions, useTimeLeft, useExpiringSoon, useManagerStatus }",
    gzip: true,
    limit: "1.17 kB",
  },
  {
    name: "Vue composables, all five",
    path: dist("vue"),
    import: "{ useSession, useSessions, useTimeLeft, useExpiringSoon, useManagerStatus }",
    gzip: true,
    limit: "1.4 kB",
  },
  {
    // With the id check (and the error classes it throws), which a page with the manager has.
    name: "Svelte stores, all four (their id check shares the manager's errors)",
    path: dist("svelte"),
    import: "{ sessionStore, sessionsStore, timeLeftStore, statusStore }",
    gzip: true,
    limit: "1.59 kB",
  },
];
