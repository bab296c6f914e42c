/**
 * What a store keeps for one session. The manager hands stores frozen records and never
 * mutates one it got back; `data` is already JSON-safe (or, with encryption, a JWE string).
 */
export interface SessionRecord {
  readonly id: string;
  readonly data: unknown;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
  readonly ttl: number;
  readonly version: number;
  /** `data` is a compact JWE (encryption at rest); absent when it is plain JSON. */
  readonly encrypted?: true;
}

/**
 * A conditional write, so that `SESSION_EXISTS` and version checks hold across tabs and processes:
 * `{ ifAbsent: true }` writes only if the store has no record with that id (live or not);
 * `{ ifVersion: n }` writes only if the stored record has version `n`.
 */
export type WriteCondition = { readonly ifAbsent: true } | { readonly ifVersion: number };

/** A value or a promise of it: a store may answer synchronously (memory) or not. */
export type Awaitable<T> = T | PromiseLike<T>;

/** What a store can do beyond the required methods. */
export interface StoreCapabilities {
  /** The store drops expired records by itself (Redis PXAT, memcached exptime). */
  readonly nativeTtl?: boolean;
  /** Other managers (tabs, processes) may write to the same records. */
  readonly shared?: boolean;
  /**
   * When the store cannot work (its `open` fails: storage disabled, private mode, a sandboxed
   * iframe), the manager keeps sessions in memory instead and reports `degraded`. Browser stores
   * only: a server store that is down must fail loudly, not lose sessions to memory.
   */
  readonly fallback?: boolean;
}

/** What the manager hands a store when it opens it. */
export interface StoreContext {
  /**
   * Reports a problem the store worked around without failing the call, such as a stored record
   * it skipped because it could not read it. The manager emits it on `error`.
   */
  report(error: Error): void;
  /**
   * Tells the manager about a change it did not make, which it follows and emits to its
   * listeners as if another tab had made it: the remote store calls it with what other clients
   * changed on the server. Optional for the manager to give, so stores check for it.
   */
  changed?(event: StoreChange, records: SessionRecord[]): void;
  /** Tells the manager that its store agrees with the server now (the remote replica). */
  synced?(): void;
}

/** A change `StoreContext.changed` reports; `updated` takes the new record and the previous one. */
export type StoreChange = "added" | "updated" | "touched" | "removed" | "expired";

/**
 * The one interface every backend implements. Stores only keep records: expiry rules,
 * validation, events and encryption live in the manager. A store may return records that have
 * expired; the manager filters them.
 */
export interface SessionStore {
  readonly name: string;
  readonly capabilities?: StoreCapabilities;
  /**
   * Called once by the manager before any other method: opens connections and checks that the
   * storage works. A rejection means the store cannot work at all.
   */
  open?(context: StoreContext): Awaitable<void>;
  /** The record with this id, expired or not, or `undefined`. */
  get(id: string): Awaitable<SessionRecord | undefined>;
  /** Writes the record; with a condition, returns `false` (and writes nothing) when it fails. */
  set(record: SessionRecord, condition?: WriteCondition): Awaitable<boolean>;
  /** Deletes the record; with `ifVersion`, only at that version. `true` if one was deleted. */
  delete(id: string, condition?: { readonly ifVersion: number }): Awaitable<boolean>;
  /** Every record of this store's namespace, expired ones included. */
  list(): Awaitable<SessionRecord[]>;
  /**
   * The records whose id starts with `prefix`, expired ones included: optional, for stores that
   * can answer it from an index (a key range, `SCAN MATCH`). The server keeps each owner's
   * sessions under a prefix and lists them with it; without it, it filters `list()`.
   */
  listPrefix?(prefix: string): Awaitable<SessionRecord[]>;
  /** Deletes every record of this store's namespace and nothing else. */
  clear(): Awaitable<void>;
  /** Deletes the records with `expiresAt <= now` and returns them. */
  purgeExpired(now: number): Awaitable<SessionRecord[]>;
  /** Releases connections and handles. */
  close?(): Awaitable<void>;
}
