/**
 * Sync with a sessionmanager server as objects: {@link sync} keeps a store as an offline-first
 * replica of the server's sessions, {@link remoteStore} makes the server the store.
 * @packageDocumentation
 */
// `sessionmanager-js/remote`: sync with a sessionmanager server as objects, for pages that compose
// stores themselves (and for `sessionmanager-js/core`). The root entry's `backend: "remote"` and
// `remote: { url, token }` load the same code lazily.
import type { Sync } from "../options.ts";
import type { RemoteOptions } from "./options.ts";
import { replicaStore } from "./replica.ts";

export type { Sync } from "../options.ts";
export type { RemoteOptions } from "./options.ts";
export { remoteStore } from "./remote.ts";
export type { ReplicaOptions } from "./replica.ts";
export { replicaStore } from "./replica.ts";

/**
 * Keeps the core manager's store as an offline-first replica of a server's sessions: the root
 * entry's `remote: { url, token }` as an object. With the server as the only store, pass
 * `backend: remoteStore({ url, token })` instead.
 * @example
 * new SessionManager({ backend: indexedDBStore(), remote: sync({ url: "/api", token }) });
 */
export function sync(options: RemoteOptions): Sync {
  return { replicate: (local, namespace) => replicaStore(local, { ...options, namespace }) };
}
