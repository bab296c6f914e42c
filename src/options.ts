import type { EncryptionOptions } from "./crypto/keys.ts";
import type { Duration } from "./duration.ts";
import type { Logger, LogLevel } from "./log.ts";
import type { Session } from "./session.ts";
import type { SessionStore } from "./stores/types.ts";
import type { RemoteOptions } from "./sync/remote.ts";
import type { ReplicaOptions } from "./sync/replica.ts";

/** Options of `new SessionManager(options)`: the common ones, and those of the chosen backend. */
export type SessionManagerOptions = CommonOptions & BackendOptions;

/** Options every manager takes, whatever its backend. */
export interface CommonOptions {
  /** Keeps apps apart in shared storage. Default `"sessionmanager"`. */
  namespace?: string;
  /** Lifetime of a session added without `ttl`. Default `"30m"`. */
  defaultTtl?: Duration;
  /** How long before `expiresAt` the `expiringSoon` event fires; `0` turns it off. Default `"1m"`. */
  warnBefore?: Duration;
  /**
   * Encrypts session data at rest as a compact JWE (AES-GCM 256): `{ key }`, `{ keys }` (the
   * first encrypts, all decrypt), `{ passphrase }` or `true` (a key kept in IndexedDB). Off by
   * default.
   */
  encryption?: EncryptionOptions | false;
  /**
   * A sessionmanager server to sync with. With `backend: "remote"` the server is the store;
   * with any other backend, that store is an offline-first replica of the server's sessions.
   */
  remote?: Omit<ReplicaOptions, "namespace">;
  /** Receives log lines at `logLevel` and above. Default: none. */
  logger?: Logger;
  /** Default `"info"`; `"debug"` logs one line per operation (ids shortened, never data). */
  logLevel?: LogLevel;
}

/**
 * Where sessions live, and that backend's options beside it. Default `backend: "memory"`. Node
 * backends (file, SQLite, PostgreSQL, Redis, Memcached) work where the package resolves to its
 * Node entry, and load their driver package on first use.
 */
export type BackendOptions =
  | { backend?: "memory" | "localStorage" | "sessionStorage" | "indexedDB" | SessionStore }
  | { backend: "remote"; remote: RemoteOptions }
  | { backend: "file" /** The file, created if absent. */; path: string; format?: "json" | "csv" }
  | {
      backend: "sqlite" /** The database file. Default `":memory:"`. */;
      path?: string;
      table?: string;
    }
  | ({ backend: "postgres"; table?: string } & ServiceOptions)
  | ({
      backend: "redis" | "memcached" /** First part of every key. */;
      prefix?: string;
    } & ServiceOptions);

/** How to reach a database service, and the optional read cache in front of it. */
export interface ServiceOptions {
  /** `postgres://…`, `redis://…`, or `host:port` for memcached. */
  url?: string;
  host?: string;
  port?: number;
  /**
   * Serves hot sessions from this process's memory: at most `max` entries, each for at most
   * `ttl` ms (default 1000). Another process's change may be seen that much later.
   */
  cache?: { max: number; ttl?: number };
}

/** Options of `add`: `data` may be left out only when `Data` admits `null`. */
export type AddOptions<Data> = null extends Data
  ? { data?: Data; ttl?: Duration }
  : { data: Data; ttl?: Duration };

/** Every event and the arguments its listeners get. */
export type SessionEvents<Data = unknown> = {
  added: (session: Session<Data>) => void;
  updated: (session: Session<Data>, previous: Session<Data>) => void;
  touched: (session: Session<Data>) => void;
  removed: (session: Session<Data>) => void;
  expiringSoon: (session: Session<Data>, msLeft: number) => void;
  expired: (session: Session<Data>) => void;
  synced: () => void;
  degraded: (reason: Error) => void;
  error: (error: Error) => void;
};

/** `"loading"` until stored sessions are read; `"degraded"` when a browser store fell back to memory. */
export type SessionManagerStatus = "loading" | "ready" | "degraded";

/** The arguments of `add` after the id: options are required when `data` is. */
export type AddArgs<Data> = null extends Data
  ? [options?: AddOptions<Data>]
  : [options: AddOptions<Data>];
