// What a manager is made of once it is open: its store (guarded, and in memory where a browser
// store cannot work), encryption at rest, the read cache of browser stores, and the channel to
// the other tabs. The manager's API (manager.ts) and its expiry (expiry.ts) share these parts.
import type { SessionCache } from "./cache.ts";
import { DEFAULT_NAMESPACE, scope } from "./constants.ts";
import { BackendError, ConflictError } from "./errors.ts";
import type { SafeEvents } from "./events.ts";
import type { LogFns } from "./log.ts";
import type { CoreSessionManagerOptions, Encryption, SessionEvents } from "./options.ts";
import { memoryStore } from "./stores/memory.ts";
import { guard, openStore, unavailableStore } from "./stores/open.ts";
import type { SessionRecord, SessionStore, StoreContext } from "./stores/types.ts";
import type { TabChannel } from "./tabs.ts";
import type { Change } from "./types.ts";
import type { Vault } from "./vault.ts";

/** @internal How a manager gets its store and its encryption (the root entry's by name). */
export interface StorePlan {
  store: () => Promise<SessionStore>;
  encryption: Encryption | undefined;
}

/** The parts of one manager. Events carry records: a `SessionRecord` is a `Session`. */
export interface Parts {
  /**
   * The store, with encryption at rest on the way in and out: the manager only holds plain
   * records. Attached by `openParts`, which every call waits for while the manager is loading.
   */
  readonly vault: Vault;
  /**
   * Browser stores only: what this tab knows, so reads skip the store and other tabs' messages
   * win over storage that has not caught up. (Server stores are shared by processes that send no
   * messages, so a cache there would go stale.)
   */
  tabCache?: SessionCache;
  /** Other tabs of this namespace, when the store is shared between them (localStorage, IndexedDB). */
  tabs?: TabChannel | undefined;
  readonly emitter: SafeEvents<SessionEvents>;
  readonly logs: LogFns;
  /** Reports an error on `error`. */
  fail(error: unknown): void;
}

/** What the manager does as its parts open. */
export interface OpenHooks {
  /** A change made elsewhere (another tab, the server), to follow and emit here. */
  heard(event: Change, records: SessionRecord[]): void;
  /** A browser store could not work: sessions are kept in memory instead. */
  fellBack(reason: Error): void;
  /** A stored session, loaded at start. */
  loaded(session: SessionRecord): void;
  /** Whether the manager was closed meanwhile. */
  closed(): boolean;
}

/**
 * The core's plan: `backend`, `remote` and `encryption` are objects the caller imported (the
 * root entry's manager takes names and plain options too).
 */
export function corePlan(options: CoreSessionManagerOptions): StorePlan {
  const { backend, remote, encryption, namespace = DEFAULT_NAMESPACE } = options;
  // Names and plain options are the root entry's: say what the core takes instead.
  const check = (ok: unknown, option: string, takes = `what ${option}() returns`) => {
    if (!ok) throw new BackendError(`${option} in sessionmanager-js/core takes ${takes}`);
  };
  check(
    backend === undefined || (typeof backend === "object" && backend),
    `backend ${JSON.stringify(backend)}`,
    "a SessionStore",
  );
  check(!remote || typeof remote.replicate === "function", "remote", "what sync() returns");
  check(!encryption || typeof encryption.open === "function", "encryption");
  const local = backend ?? memoryStore({ namespace });
  const store = guard(remote ? remote.replicate(local, namespace) : local);
  return { store: async () => store, encryption: encryption || undefined };
}

/**
 * Opens the store of `plan`, then encryption, the cache and the tab channel, and loads the
 * stored sessions. Never rejects: what fails is reported, and calls then fail with why.
 */
export async function openParts(
  parts: Parts,
  { store: makeStore, encryption }: StorePlan,
  namespace: string,
  hooks: OpenHooks,
): Promise<void> {
  const { vault, fail } = parts;
  const context: StoreContext = {
    // A sync conflict carries both copies as stored: sealed ones are opened for listeners.
    report: (error) => {
      if (error instanceof ConflictError) vault.openConflict(error).then(fail);
      else fail(error);
    },
    // What the store learnt elsewhere (the server): followed here and passed on to the tabs.
    // Sealed records (encryption at rest) are opened first: listeners never see ciphertext.
    changed: (event, records) => {
      vault.readAll(records).then((open) => {
        if (open.length < records.length) return; // could not be decrypted: reported
        hooks.heard(event, open);
        parts.tabs?.post(event, open);
      }, fail);
    },
    synced: () => parts.emitter.emit("synced"),
  };
  const { store, degraded } = await openStore(makeStore, context, namespace);
  vault.attach(store);
  if (encryption) {
    try {
      await vault.open(encryption, namespace);
    } catch (error) {
      // The keys cannot be had: calls fail with why, rather than store sessions unencrypted.
      fail(error);
      vault.attach(unavailableStore(error));
    }
  }
  if (degraded) hooks.fellBack(degraded);
  const { fallback, shared } = degraded ? {} : (store.capabilities ?? {});
  if (fallback) parts.tabCache = new (await import("./cache.ts")).SessionCache();
  try {
    const stored = await vault.list();
    parts.tabCache?.merge(stored);
    for (const session of stored) hooks.loaded(session);
  } catch (error) {
    fail(error);
  }
  if (shared && !hooks.closed()) {
    // Loaded only here: a manager whose store tabs do not share never carries this.
    const { openTabChannel } = await import("./tabs.ts");
    parts.tabs = openTabChannel(scope(namespace), hooks.heard, fail);
  }
}
