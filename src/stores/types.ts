import type { Awaitable, Change, SessionRecord, WriteCondition } from "../types.ts";

// The record, condition and answer types are shared with the manager: defined in src/types.ts.
export type { Awaitable, SessionRecord, WriteCondition } from "../types.ts";

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
  /**
   * For a store whose partitions keep no change log of their own: what a log the server keeps in
   * its process can be. `"complete"`: this process is the store's only writer (memory; a file held
   * under its lock), so that log also serves `GET /v1/changes`. `"none"`: keep none (Memcached,
   * which several processes share with no channel between them: its clients poll). Absent: the log
   * feeds this process's event streams only (SQLite, which other processes may write).
   */
  readonly processLog?: "complete" | "none";
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
export type StoreChange = Change;

/**
 * The one interface every backend implements. Stores only keep records: expiry rules,
 * validation, events and encryption live in the manager. A store may return records that have
 * expired; the manager filters them.
 */
export interface SessionStore {
  /** The store's name in logs and errors (`"memory"`, `"redis"`, …). */
  readonly name: string;
  /** What the store can do beyond the required methods. Absent: nothing. */
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
   * The records whose id starts with `prefix`, expired ones included, all at once.
   * @deprecated Use `listPage` (bounded) or `partition(owner).list`; kept for stores and callers
   * written against it. `partitionOf` still falls back to it for a store without `listPage`.
   */
  listPrefix?(prefix: string): Awaitable<SessionRecord[]>;
  /**
   * One page of the records whose id starts with `request.prefix` (all, without it), expired
   * ones included: optional, for stores that can page from an index (a key range, a sorted
   * set); `partitionOf` pages `list()` for a store without it. See `PageRequest` and `Page` for
   * what a page promises.
   */
  listPage?(request: ListRequest): Awaitable<Page>;
  /**
   * The records of one owner (a partition of the namespace), as a store of their own: optional,
   * for stores that keep an owner's records apart (an index per owner, keys hash-tagged per
   * owner on Redis Cluster, a change log per owner). Callers get one with `partitionOf(store,
   * owner)`, which, for a store without `partition`, keeps the owner's records in this store
   * under the ids `partitionPrefix(owner) + id` (the server's layout since 1.0).
   *
   * A store that has `partition` decides where partitioned records live: its root methods
   * (`get`, `list`, …) need not see them, and a namespace is used through partitions (the
   * server) or through the root (a manager), not both. Its root `clear`, `purgeExpired` and
   * `close` cover every partition. A wrapper of such a store (a cache, a guard) wraps the
   * partitions too, or leaves `partition` out: spreading a store (`{ ...store, set }`) keeps
   * the inner store's `partition`, which does not go through the new `set`.
   */
  partition?(owner: string): SessionPartition;
  /**
   * How many live records (`expiresAt > request.now`) have an id that starts with
   * `request.prefix` (all, without it), counting no further than `request.upTo`: optional, for
   * stores that count without reading records (an index, `count(*)`). The partitions
   * `partitionOf` makes from a store without `partition` count with it.
   */
  count?(request: PrefixCountRequest): Awaitable<number>;
  /** Deletes every record of this store's namespace and nothing else. */
  clear(): Awaitable<void>;
  /** Deletes the records with `expiresAt <= now` and returns them. */
  purgeExpired(now: number): Awaitable<SessionRecord[]>;
  /** Releases connections and handles. */
  close?(): Awaitable<void>;
}

/**
 * Where a paged list starts and how much it may return. Cursors are opaque strings a store made
 * (`Page.next`); a cursor from one store means nothing to another.
 */
export interface PageRequest {
  /** `Page.next` of the page before; absent for the first page. */
  readonly cursor?: string | undefined;
  /** The most records (or entries) the page may hold: a whole number from 1. */
  readonly limit: number;
}

/** A `PageRequest` of the root of a store, limited to the ids that start with `prefix`. */
export interface ListRequest extends PageRequest {
  /** List only the records whose id starts with this; absent: all. */
  readonly prefix?: string | undefined;
}

/**
 * What `SessionPartition.count` counts: the records live at `now` (`expiresAt > now`).
 * @inline
 */
export interface CountRequest {
  /** The instant (epoch ms) a record must outlive to count. */
  readonly now: number;
  /**
   * Stop at this many (a whole number from 1): the answer is then `min(live, upTo)`, and a
   * store that reads records to count reads no more than it takes. Absent: count them all.
   */
  readonly upTo?: number | undefined;
}

/**
 * A `CountRequest` of the root of a store, limited to the ids that start with `prefix`.
 * @inline
 */
export interface PrefixCountRequest extends CountRequest {
  /** Count only the records whose id starts with this; absent: all. */
  readonly prefix?: string | undefined;
}

/**
 * One page of a list. A page may hold fewer than `limit` records and still have a `next`
 * (a store that filters after reading, Redis `SCAN`); the list is done when `next` is absent.
 * Every record that exists from the first page to the last is listed at least once (exactly
 * once in the stores that page in id order, which is all built-in ones); a record written or
 * deleted meanwhile may or may not be.
 */
export interface Page {
  /** The records of this page, expired ones included. */
  readonly records: SessionRecord[];
  /** The cursor of the next page; absent on the last. */
  readonly next?: string;
}

/**
 * The records of one owner in a store: what `SessionStore.partition` and `partitionOf` give.
 * Ids and records are the owner's own (no prefix); owners never see each other's records,
 * whatever characters their names hold. The methods mean what the `SessionStore` ones of the
 * same name mean, limited to this owner; `set` and `delete` take the change a change log
 * records (`added` or `updated` for a write, `removed` for a delete when not given).
 */
export interface SessionPartition {
  /** The owner, as given to `partition`. */
  readonly owner: string;
  /** The owner's record with this id, expired or not, or `undefined`. */
  get(id: string): Awaitable<SessionRecord | undefined>;
  /** Writes the owner's record; with a condition, `false` (nothing written) when it fails. */
  set(record: SessionRecord, condition?: WriteCondition, change?: StoreChange): Awaitable<boolean>;
  /** Deletes the owner's record; with `ifVersion`, only at that version. `true` if deleted. */
  delete(
    id: string,
    condition?: { readonly ifVersion: number },
    change?: StoreChange,
  ): Awaitable<boolean>;
  /** One page of the owner's records, expired ones included. */
  list(request: PageRequest): Awaitable<Page>;
  /**
   * How many of the owner's records are live at `request.now`, at most `request.upTo`: optional,
   * for stores that count without reading every record; `countLive` pages `list` for a partition
   * without it. A record written or deleted meanwhile may or may not be counted.
   */
  count?(request: CountRequest): Awaitable<number>;
  /**
   * Deletes every record of the owner, each at the version it had (another writer's newer one
   * is deleted too), and returns the records deleted, expired ones included.
   */
  clear(): Awaitable<SessionRecord[]>;
  /**
   * The owner's change log after `request.cursor`: optional, for stores that keep one. Without
   * a cursor, no entries, and `next` is the position of the newest entry (where a new reader
   * starts). Every `set`, `delete`, `clear` and `purgeExpired` of the owner's records appends an
   * entry in the same atomic step as the write (`change` as given to `set`/`delete`, removals
   * as tombstones, `expired` for a record the sweep deleted); the log is bounded by count and
   * age (`ChangeLogOptions`). An entry's `cursor` is the position to resume after it (the `id:`
   * of a server-sent event, the cursor of `GET /v1/changes`). A cursor this log never made, or
   * one older than its oldest entry kept, answers `resync`.
   */
  changes?(request: ChangesRequest): Awaitable<ChangePage>;
  /**
   * Calls `listener` with each entry appended to the owner's change log from now on, by this
   * process or (through the store's own channel: Redis pub/sub, PostgreSQL `LISTEN`) by another,
   * in log order: optional, for stores that keep a log. Returns the function that stops it. A
   * listener that may have missed entries (the channel was lost and came back) is called with
   * `{ resync: true }`, and reads `changes` again from its last cursor.
   */
  watch?(listener: (entry: ChangeEntry | ResyncSignal) => void): () => void;
}

/** What `SessionPartition.changes` reads: the entries after `cursor`, at most `limit`. */
export interface ChangesRequest {
  /** The `cursor` of the last entry read (or `ChangePage.next`); absent: only the head. */
  readonly cursor?: string | undefined;
  /** The most entries the page may hold: a whole number from 1. */
  readonly limit: number;
}

/** What `watch` calls its listener with when entries may have been missed. */
export interface ResyncSignal {
  /** Always `true`: read `changes` again from the last cursor. */
  readonly resync: true;
}

/** The bounds of a store's change log, per owner. */
export interface ChangeLogOptions {
  /** The most entries kept per owner; older ones are dropped first. Default 1000. */
  readonly maxEntries?: number;
  /** How long an entry is kept, in ms. Default 1 hour. */
  readonly maxAge?: number;
}

/** One entry of an owner's change log. */
export interface ChangeEntry {
  /**
   * The position after this entry: `changes({ cursor })` resumes after it. Opaque to callers,
   * but of one owner's log a later entry's cursor is greater (plain string comparison, `>`), so
   * that a reader can drop what it has seen already. Printable ASCII, at most 200 characters, and
   * never digits alone (those are the clock cursors of `GET /v1/changes`): `"000123"` is not a
   * cursor, `"p000123"` or `"1712000000000-0"` is.
   */
  readonly cursor: string;
  /** What happened to the session. */
  readonly change: StoreChange;
  /** The owner's id of the session. */
  readonly id: string;
  /** The record as written; absent on a tombstone (`removed`, `expired`). */
  readonly record?: SessionRecord;
  /** When the store appended it (epoch ms). */
  readonly at: number;
}

/** A page of an owner's change log. */
export interface ChangePage {
  /** The entries after the cursor given, oldest first. */
  readonly entries: ChangeEntry[];
  /** Where the next call resumes (the last entry's cursor, or the head when none came). */
  readonly next: string;
  /** More entries follow `next`: the page stopped at `limit`. */
  readonly more?: true;
  /**
   * The cursor given is older than the oldest entry kept (entries were lost to the log's
   * bound), or one this log never made: the caller lists the partition again, and resumes
   * from `next` (the head; `entries` is empty then).
   */
  readonly resync?: true;
}
