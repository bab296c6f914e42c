// `#backends` in Node (the `node` condition of the package's `imports` map).
import type { CacheOptions, SessionManagerOptions } from "../options.ts";
import type { NodeBackendName, StoreFactory } from "./backends.ts";
import type { SessionStore } from "./types.ts";

type Named<B extends NodeBackendName> = Extract<SessionManagerOptions, { backend: B }> & {
  namespace: string;
};

/**
 * The named backends of Node. Each loads its file on first use, and that file loads its
 * driver package (an optional peer dependency), so naming one backend loads nothing of the others.
 */
export const nodeBackends: Record<NodeBackendName, StoreFactory> = {
  file: async (o) => (await import("./file/index.ts")).fileStore(o as Named<"file">),
  sqlite: async (o) => (await import("./sqlite.ts")).sqliteStore(o as Named<"sqlite">),
  postgres: async (o) =>
    cached(
      o as Named<"postgres">,
      (await import("./postgres.ts")).postgresStore(o as Named<"postgres">),
    ),
  redis: async (o) =>
    cached(o as Named<"redis">, (await import("./redis.ts")).redisStore(o as Named<"redis">)),
  memcached: async (o) =>
    cached(
      o as Named<"memcached">,
      (await import("./memcached/index.ts")).memcachedStore(o as Named<"memcached">),
    ),
};

/** The store behind the bounded read cache when `cache: { max }` asks for one. */
async function cached(options: CacheOptions, store: SessionStore): Promise<SessionStore> {
  if (!options.cache) return store;
  return (await import("./cached.ts")).cachedStore(store, options.cache);
}
