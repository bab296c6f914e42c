import type { RecordCodec } from "./crypto/codec.ts";
import type { EncryptionOptions } from "./crypto/keys.ts";
import type { Duration } from "./duration.ts";
import type { Logger, LogLevel } from "./log.ts";
import type { FileStoreOptions } from "./stores/file/index.ts";
import type { MemcachedStoreOptions } from "./stores/memcached/index.ts";
import type { PostgresStoreOptions } from "./stores/postgres.ts";
import type { RedisStoreOptions } from "./stores/redis.ts";
import type { SqliteStoreOptions } from "./stores/sqlite.ts";
import type { SessionStore } from "./stores/types.ts";
import type { RemoteOptions } from "./sync/options.ts";
import type { ReplicaOptions } from "./sync/replica.ts";
import type { Session } from "./types.ts";

/**
 * Options of `new SessionManager(options)` from the root entry: the common ones, the features by
 * their plain options, and those of the chosen backend.
 */
export type SessionManagerOptions = CommonOptions & FeatureOptions & BackendOptions;

/**
 * Options of `new SessionManager(options)` from `sessionmanager-js/core`: the store and the
 * features are objects the page imports, so a bundle holds only those.
 * @example
 * import { SessionManager } from "sessionmanager-js/core";
 * import { indexedDBStore } from "sessionmanager-js/stores/indexeddb";
 * new SessionManager({ backend: indexedDBStore({ namespace: "app" }), namespace: "app" });
 */
export interface CoreSessionManagerOptions extends CommonOptions {
  /** Where sessions live. Default: a memory store. */
  backend?: SessionStore;
  /** What `encryption(options)` from `sessionmanager-js/crypto` returns. Off by default. */
  encryption?: Encryption | false;
  /** What `sync({ url, token })` from `sessionmanager-js/remote` returns: `backend` replicates a server. */
  remote?: Sync;
}

/**
 * Encryption at rest, as `encryption(options)` from `sessionmanager-js/crypto` makes it: given the
 * store (which keeps a passphrase's salt), it resolves the keys once.
 */
export interface Encryption {
  /** @internal Resolves the keys; the manager seals and opens records with what it returns. */
  open(store: SessionStore, namespace: string): Promise<RecordCodec>;
}

/** Sync with a server, as `sync({ url, token })` from `sessionmanager-js/remote` makes it. */
export interface Sync {
  /** @internal The offline-first replica of the server's sessions that keeps them in `local`. */
  replicate(local: SessionStore, namespace: string): SessionStore;
}

/**
 * Options every manager takes, whatever its backend.
 * @inline
 */
export interface CommonOptions {
  /** Keeps apps apart in shared storage. Default `"sessionmanager"`. */
  namespace?: string;
  /** Lifetime of a session added without `ttl`. Default `"30m"`. */
  defaultTtl?: Duration;
  /** How long before `expiresAt` the `expiringSoon` event fires; `0` turns it off. Default `"1m"`. */
  warnBefore?: Duration;
  /** Receives log lines at `logLevel` and above. Default: none. */
  logger?: Logger;
  /** Default `"info"`; `"debug"` logs one line per operation (ids shortened, never data). */
  logLevel?: LogLevel;
}

/**
 * The features the root entry takes by their plain options (it takes the core's objects too).
 * @inline
 */
export interface FeatureOptions {
  /**
   * Encrypts session data at rest as a compact JWE (AES-GCM 256): `{ key }`, `{ keys }` (the
   * first encrypts, all decrypt), `{ passphrase }` or `true` (a key kept in IndexedDB). Off by
   * default.
   */
  encryption?: EncryptionOptions | Encryption | false;
  /**
   * A sessionmanager server to sync with. With `backend: "remote"` the server is the store;
   * with any other backend, that store is an offline-first replica of the server's sessions.
   */
  remote?: Omit<ReplicaOptions, "namespace"> | Sync;
}

/**
 * Where sessions live, and that backend's options beside it: for the Node backends, the options
 * of the store's factory (`sqliteStore`, `redisStore`, …) but `namespace`, which is the manager's.
 * Default `backend: "memory"`. Node backends (file, SQLite, PostgreSQL, Redis, Memcached) work
 * where the package resolves with the `node` condition, and load their driver on first use.
 * @inline
 */
export type BackendOptions =
  | { backend?: "memory" | "localStorage" | "sessionStorage" | "indexedDB" | SessionStore }
  | { backend: "remote"; remote: RemoteOptions }
  | ({ backend: "file" } & Omit<FileStoreOptions, "namespace">)
  | ({ backend: "sqlite" } & Omit<SqliteStoreOptions, "namespace">)
  | ({ backend: "postgres" } & Omit<PostgresStoreOptions, "namespace"> & CacheOptions)
  | ({ backend: "redis" } & Omit<RedisStoreOptions, "namespace"> & CacheOptions)
  | ({ backend: "memcached" } & Omit<MemcachedStoreOptions, "namespace"> & CacheOptions);

/**
 * The optional read cache in front of a database service.
 * @inline
 */
export interface CacheOptions {
  /**
   * Serves hot sessions from this process's memory: at most `max` entries, each for at most
   * `ttl` ms (default 1000). Another process's change may be seen that much later.
   */
  cache?: { max: number; ttl?: number };
}

/** Options of `add`: `data` may be left out only when `Data` admits `null`. */
export type AddOptions<Data> = (null extends Data ? { data?: Data } : { data: Data }) & {
  /** The session's lifetime. Default: the manager's `defaultTtl`. */
  ttl?: Duration;
  /**
   * The cap on the session's whole lifetime (OWASP's absolute timeout): no `touch`, update or
   * activity keeps it alive past `createdAt + maxAge`. Default: no cap.
   */
  maxAge?: Duration;
};

/**
 * Options of `trackActivity`.
 * @example
 * const stop = sm.trackActivity(id, { throttle: "30s", events: ["keydown", "pointerdown"] });
 */
export interface ActivityOptions {
  /**
   * At most one touch per this long, counted across the tabs of the namespace. Default: the
   * smaller of one minute and half of the session's `ttl − warnBefore` (half its `ttl` when
   * `warnBefore` is as long or longer).
   */
  throttle?: Duration;
  /**
   * The event types that count as activity. Default: `pointerdown`, `pointermove`, `keydown`,
   * `wheel`, `touchstart` and `visibilitychange` (the page becoming visible).
   */
  events?: readonly string[];
  /** Where to listen. Default: `document`; where there is none (Node) nothing is tracked. */
  target?: ActivityTarget;
}

/** Where `trackActivity` listens: a `document`, a `window`, an element, any `EventTarget`. */
export interface ActivityTarget {
  /** Called once per event type, with `{ passive: true, capture: true }`. */
  addEventListener(type: string, listener: (event: Event) => void, options?: object): void;
  /** Called by `stop()` with what was added. */
  removeEventListener(type: string, listener: (event: Event) => void, options?: object): void;
}

/** Every event and the arguments its listeners get. */
export type SessionEvents<Data = unknown> = {
  /** A session was added (here or in another tab, or pulled from the server). */
  added: (session: Session<Data>) => void;
  /** A session's data changed; `previous` is the session before. */
  updated: (session: Session<Data>, previous: Session<Data>) => void;
  /** A session was extended (`touch`, or activity). */
  touched: (session: Session<Data>) => void;
  /** `remove` or `clear` ended a session. */
  removed: (session: Session<Data>) => void;
  /** `rotate` moved the session to a new id (here or in another tab); `previousId` is gone. */
  rotated: (session: Session<Data>, previousId: string) => void;
  /** `warnBefore` ahead of `expiresAt`, once per expiry; `msLeft` is the true time left. */
  expiringSoon: (session: Session<Data>, msLeft: number) => void;
  /** A session expired and was removed from the store. */
  expired: (session: Session<Data>) => void;
  /** With `remote`: the queued writes reached the server and its changes are in. */
  synced: () => void;
  /** A browser store could not be used: sessions are kept in memory instead. */
  degraded: (reason: Error) => void;
  /** A listener threw, the sweep hit a store error, a record was skipped, a write lost. */
  error: (error: Error) => void;
};

/** `"loading"` until stored sessions are read; `"degraded"` when a browser store fell back to memory. */
export type SessionManagerStatus = "loading" | "ready" | "degraded";

/**
 * The arguments of `add` after the id: options are required when `data` is.
 * @inline
 */
export type AddArgs<Data> = null extends Data
  ? [options?: AddOptions<Data>]
  : [options: AddOptions<Data>];
