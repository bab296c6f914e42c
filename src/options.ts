import type { EncryptionOptions } from "./crypto/keys.ts";
import type { Duration } from "./duration.ts";
import type { Logger, LogLevel } from "./log.ts";
import type { Session } from "./session.ts";
import type { BackendName } from "./stores/resolve.ts";
import type { SessionStore } from "./stores/types.ts";

/** Options of `new SessionManager(options)`. */
export interface SessionManagerOptions {
  /** Where sessions live: a backend name or a store object. Default `"memory"`. */
  backend?: BackendName | SessionStore;
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
  /** Receives log lines at `logLevel` and above. Default: none. */
  logger?: Logger;
  /** Default `"info"`; `"debug"` logs one line per operation (ids shortened, never data). */
  logLevel?: LogLevel;
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
