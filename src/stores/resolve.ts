import { isThenable } from "../awaitable.ts";
import { BackendError, SessionError } from "../errors.ts";
import type { SessionManagerOptions } from "../options.ts";
import type { RemoteOptions } from "../sync/remote.ts";
import { memoryStore } from "./memory.ts";
import type { Awaitable, SessionStore, StoreContext } from "./types.ts";

/** The backends known by name; any `SessionStore` object works as well. */
export type BackendName =
  | "memory"
  | "localStorage"
  | "sessionStorage"
  | "indexedDB"
  | "remote"
  | NodeBackendName;

/** Backends of the Node entry only: their drivers (and their code) never reach a browser. */
export type NodeBackendName = "file" | "sqlite" | "postgres" | "redis" | "memcached";

/** Makes a named store from the manager's options (the backend's own sit beside `backend`). */
export type StoreFactory = (
  options: SessionManagerOptions & { namespace: string },
) => Awaitable<SessionStore>;

const nodeOnly: readonly string[] = ["file", "sqlite", "postgres", "redis", "memcached"];

// Named stores other than memory load on first use, so a bundle that never names them (or
// imports a store from its subpath) does not carry them. The Node entry adds its own names.
const named = new Map<string, StoreFactory>([
  ["memory", memoryStore],
  ["localStorage", async (o) => (await import("./webstorage.ts")).localStorageStore(o)],
  ["sessionStorage", async (o) => (await import("./webstorage.ts")).sessionStorageStore(o)],
  ["indexedDB", async (o) => (await import("./indexeddb.ts")).indexedDBStore(o)],
  ["remote", async (o) => (await import("../sync/remote.ts")).remoteStore(remoteOf(o))],
]);

/** Adds the named backends of an entry (the Node entry's file, SQLite, …). */
export function registerBackends(backends: Record<NodeBackendName, StoreFactory>): void {
  for (const [name, factory] of Object.entries(backends)) named.set(name, factory);
}

/**
 * A function that makes the store `backend` names (or is), wrapped by `guard`. An unknown name
 * throws at once, so a typo fails in the constructor rather than at the first call. With
 * `remote` beside another backend, that store becomes an offline-first replica of the server.
 */
export function backendLoader(options: SessionManagerOptions): () => Promise<SessionStore> {
  const { backend = "memory", namespace = "sessionmanager", remote } = options;
  let make: StoreFactory | undefined;
  if (typeof backend === "object" && backend !== null) make = () => backend;
  else make = named.get(backend);
  if (!make) {
    const where = nodeOnly.includes(backend as string)
      ? `the ${JSON.stringify(backend)} backend works in Node only (the package's Node entry)`
      : `unknown backend ${JSON.stringify(backend)}; expected one of ${[...named.keys()].join(", ")} or a SessionStore`;
    throw new BackendError(where);
  }
  const factory = make;
  const full = { ...options, namespace };
  if (!remote || backend === "remote") return async () => guard(await factory(full));
  return async () => {
    const local = await factory(full);
    const { replicaStore } = await import("../sync/replica.ts");
    return guard(replicaStore(local, { ...remote, namespace }));
  };
}

function remoteOf(options: SessionManagerOptions): RemoteOptions {
  if (options.remote) return options.remote;
  throw new BackendError('backend "remote" needs remote: { url, token }');
}

/**
 * Opens the store that `makeStore` makes. A browser store that cannot work is replaced by the
 * memory store, and `degraded` says why; a server store that is down is not (it must not
 * quietly keep sessions in one process's memory): the failure is reported, and its calls fail
 * until it works.
 */
export async function openStore(
  makeStore: () => Promise<SessionStore>,
  context: StoreContext,
  namespace = "sessionmanager",
): Promise<{ store: SessionStore; degraded?: Error }> {
  let store: SessionStore | undefined;
  try {
    store = await makeStore();
    await store.open?.(context);
    return { store };
  } catch (error) {
    if (store?.capabilities?.fallback) {
      return { store: guard(memoryStore({ namespace })), degraded: error as Error };
    }
    context.report(error as Error);
    return { store: store ?? unavailableStore(error) };
  }
}

/** A store that cannot work (a driver is missing, say): every call rejects with why. */
export function unavailableStore(error: unknown): SessionStore {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return guard({
    name: "unavailable",
    get: fail,
    set: fail,
    delete: fail,
    list: fail,
    clear: fail,
    purgeExpired: fail,
  });
}

/** Wraps a store so that whatever it throws or rejects with surfaces as `BackendError`. */
function guard(store: SessionStore): SessionStore {
  const wrap = (error: unknown): never => {
    if (error instanceof SessionError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackendError(`${store.name} store failed: ${reason}`, { cause: error });
  };
  const guarded: Record<string, unknown> = { name: store.name, capabilities: store.capabilities };
  const methods = [
    "open",
    "get",
    "set",
    "delete",
    "list",
    "listPrefix",
    "clear",
    "purgeExpired",
    "close",
  ] as const;
  for (const method of methods) {
    const fn = store[method] as ((a?: unknown, b?: unknown) => Awaitable<unknown>) | undefined;
    // Two fixed parameters (no store method takes more): no rest array on every call.
    guarded[method] =
      fn &&
      ((a?: unknown, b?: unknown) => {
        try {
          const result = fn.call(store, a, b);
          return isThenable(result) ? Promise.resolve(result).then(undefined, wrap) : result;
        } catch (error) {
          return wrap(error);
        }
      });
  }
  return guarded as unknown as SessionStore;
}
