// The root entry's conveniences: a backend named by a string, `remote: { url, token }` and
// `encryption: { key }` as plain options. Their code loads with import() on first use, so a page
// that never names a feature does not run it (and, split into chunks, does not download it). The
// core entry (src/core.ts) has none of this: there the caller passes the objects in.

import { nodeBackends } from "#backends";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { BackendError } from "../errors.ts";
import type { Encryption, SessionManagerOptions, Sync } from "../options.ts";
import type { RemoteOptions } from "../sync/options.ts";
import type { StoreFactory, StoreOptions } from "./backends.ts";
import { memoryStore } from "./memory.ts";
import { guard } from "./open.ts";
import type { SessionStore } from "./types.ts";

const nodeOnly: readonly string[] = ["file", "sqlite", "postgres", "redis", "memcached"];

// `#backends` is chosen by the package's `imports` map: a bundle for the browser (or any runtime
// without the `node` condition) gets an empty list, so no Node store or driver can enter it.
const named = new Map<string, StoreFactory>([
  ["memory", memoryStore],
  ["localStorage", async (o) => (await import("./webstorage.ts")).localStorageStore(o)],
  ["sessionStorage", async (o) => (await import("./webstorage.ts")).sessionStorageStore(o)],
  ["indexedDB", async (o) => (await import("./indexeddb/index.ts")).indexedDBStore(o)],
  ["remote", async (o) => (await import("../sync/remote.ts")).remoteStore(remoteOf(o))],
  ...(Object.entries(nodeBackends) as [string, StoreFactory][]),
]);

/**
 * A function that makes the store `backend` names (or is), wrapped by `guard`. An unknown name
 * throws at once, so a typo fails in the constructor rather than at the first call. With
 * `remote` beside another backend, that store becomes an offline-first replica of the server.
 */
export function backendLoader(options: StoreOptions): () => Promise<SessionStore> {
  const { backend = "memory", namespace = DEFAULT_NAMESPACE, remote } = options;
  let make: StoreFactory | undefined;
  if (typeof backend === "object" && backend !== null) make = () => backend;
  else make = named.get(backend);
  if (!make) {
    const where = nodeOnly.includes(backend as string)
      ? `the ${JSON.stringify(backend)} backend works in Node only`
      : `unknown backend ${JSON.stringify(backend)}; expected one of ${[...named.keys()].join(", ")} or a SessionStore`;
    throw new BackendError(where);
  }
  const factory = make;
  const full = { ...options, namespace };
  if (!remote || backend === "remote") return async () => guard(await factory(full));
  return async () => {
    const local = await factory(full);
    if (isSync(remote)) return guard(remote.replicate(local, namespace));
    const { replicaStore } = await import("../sync/replica.ts");
    return guard(replicaStore(local, { ...remote, namespace }));
  };
}

/** `encryption` as the manager uses it: the options' plain forms load the crypto on first use. */
export function encryptionOf(option: SessionManagerOptions["encryption"]): Encryption | undefined {
  if (!option) return undefined;
  if (isEncryption(option)) return option;
  return {
    open: async (store, namespace) =>
      (await import("../crypto/codec.ts")).createCodec(option, store, namespace),
  };
}

function isEncryption(option: unknown): option is Encryption {
  return typeof (option as Encryption | undefined)?.open === "function";
}

function isSync(option: unknown): option is Sync {
  return typeof (option as Sync | undefined)?.replicate === "function";
}

function remoteOf(options: StoreOptions): RemoteOptions {
  if (options.remote && !isSync(options.remote)) return options.remote;
  throw new BackendError('backend "remote" needs remote: { url, token }');
}
