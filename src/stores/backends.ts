// The names of the backends and the shape of what `#backends` gives (src/stores/resolve.ts),
// apart from the code, so that the files behind `#backends` need not import resolve.ts.
import type { SessionManagerOptions } from "../options.ts";
import type { Awaitable, SessionStore } from "./types.ts";

/** The backends known by name; any `SessionStore` object works as well. */
export type BackendName =
  | "memory"
  | "localStorage"
  | "sessionStorage"
  | "indexedDB"
  | "remote"
  | NodeBackendName;

/**
 * Backends of Node only: their drivers (and their code) never reach a browser.
 * @inline
 */
export type NodeBackendName = "file" | "sqlite" | "postgres" | "redis" | "memcached";

/**
 * What a store is made from: the manager's options, or the server's (`createSessionServer`),
 * which name a backend the same way. The backend's own options sit beside `backend`, and each
 * factory reads those of its own backend.
 */
export interface StoreOptions {
  readonly backend?: BackendName | SessionStore | undefined;
  readonly namespace?: string | undefined;
  readonly remote?: SessionManagerOptions["remote"] | undefined;
}

/** Makes a named store from the options (the backend's own sit beside `backend`). */
export type StoreFactory = (
  options: StoreOptions & { namespace: string },
) => Awaitable<SessionStore>;

/** What `#backends` gives: the Node backends under the `node` condition, none elsewhere. */
export type NodeBackends = Partial<Record<NodeBackendName, StoreFactory>>;
