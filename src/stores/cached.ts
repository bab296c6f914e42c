/**
 * A bounded read cache in front of any store ({@link cachedStore}): hot sessions served from the
 * process's memory for a short time.
 * @packageDocumentation
 */
import { isThenable } from "../awaitable.ts";
import type { Awaitable, ListRequest, SessionRecord, SessionStore, StoreContext } from "./types.ts";

/** Options of `cachedStore`. */
export interface CachedStoreOptions {
  /** The most records kept in memory; the least recently read goes first. */
  max: number;
  /**
   * How long (ms) a cached answer may be served before the store is asked again: the bound on
   * how stale a read can be when other processes write the same sessions. Default 1000;
   * `Infinity` when this process is the only writer of its sessions.
   */
  ttl?: number;
}

type Entry = { record: SessionRecord | undefined; at: number };

/**
 * A bounded LRU read cache in front of any store: `get` is answered from memory while the entry
 * is younger than `ttl`, writes go through to the store and update (or, when they fail, drop)
 * the entry, and `list`, `purgeExpired` and `clear` pass through and correct the entries they
 * learn about. At most `max` records are kept.
 *
 * The trade-off: this process does not see another process's write to a cached session until
 * the entry is `ttl` old, is evicted, or this process writes that session (a conditional write
 * against a stale version fails, drops the entry, and the manager reads again: versions never go
 * wrong, only reads lag). So use it where one process owns each session (sticky sessions, a
 * single server, a CLI), or where reads up to `ttl` ms old are acceptable: a session removed
 * elsewhere (a logout) may still read as live here for up to `ttl`.
 * @example
 * new SessionManager({ backend: cachedStore(redisStore({ url }), { max: 10_000, ttl: 1000 }) })
 */
export function cachedStore(store: SessionStore, options: CachedStoreOptions): SessionStore {
  const { max } = options;
  const ttl = options.ttl ?? 1000;
  const entries = new Map<string, Entry>();
  // Bumped by every write: a read that overlapped one does not cache what it read, which may
  // predate it.
  let writes = 0;
  const clearAll = () => entries.clear();
  const remember = (id: string, record: SessionRecord | undefined) => {
    if (max <= 0 || ttl <= 0) return;
    entries.delete(id); // re-inserted last: the Map's order is the LRU order
    entries.set(id, { record, at: Date.now() });
    if (entries.size > max) entries.delete(entries.keys().next().value as string);
  };
  /** Runs a write through the store, then updates the entries by what came of it. */
  const write = <T>(call: () => Awaitable<T>, after: (result: T) => void, failed: () => void) => {
    writes++;
    try {
      return then(
        call(),
        (result) => {
          writes++;
          after(result);
          return result;
        },
        failed,
      );
    } catch (error) {
      failed();
      throw error;
    }
  };
  const forget = (id: string) => () => entries.delete(id);
  /** Refreshes the cached entries of records a full read returned, unless a write overlapped it. */
  const learn = (records: SessionRecord[], started: number) => {
    if (started !== writes) return records;
    const now = Date.now();
    for (const record of records) {
      const entry = entries.get(record.id);
      if (entry) Object.assign(entry, { record, at: now });
    }
    return records;
  };

  /** The context, with the changes the store learns from elsewhere (a remote store) dropping entries. */
  const follow = (context: StoreContext): StoreContext => {
    const { changed } = context;
    if (!changed) return context;
    return {
      report: (error) => context.report(error),
      changed(event, records) {
        writes++;
        for (const record of records) entries.delete(record.id);
        changed.call(context, event, records);
      },
    };
  };

  return {
    name: store.name,
    ...(store.capabilities ? { capabilities: store.capabilities } : {}),
    ...(store.open ? { open: (context: StoreContext) => store.open?.(follow(context)) } : {}),
    get(id) {
      const entry = entries.get(id);
      if (entry && Date.now() - entry.at < ttl) {
        entries.delete(id);
        entries.set(id, entry);
        return entry.record;
      }
      const started = writes;
      return then(store.get(id), (record) => {
        // A write that overlapped this read has set the entry itself (or dropped it).
        if (started === writes) remember(id, record);
        return record;
      });
    },
    set: (record, condition) =>
      write(
        () => store.set(record, condition),
        (done) => (done ? remember(record.id, record) : entries.delete(record.id)),
        forget(record.id),
      ),
    delete: (id, condition) =>
      write(
        () => store.delete(id, condition),
        (done) => (done ? remember(id, undefined) : entries.delete(id)),
        forget(id),
      ),
    list() {
      const started = writes;
      return then(store.list(), (records) => {
        if (started === writes) {
          // The whole namespace: a cached id it does not hold is gone.
          const listed = new Set(records.map((record) => record.id));
          for (const id of entries.keys()) if (!listed.has(id)) entries.delete(id);
        }
        return learn(records, started);
      });
    },
    ...(store.listPrefix
      ? {
          listPrefix(prefix: string) {
            const started = writes;
            return then(store.listPrefix?.(prefix) ?? [], (records) => learn(records, started));
          },
        }
      : {}),
    ...(store.listPage
      ? {
          listPage(request: ListRequest) {
            const started = writes;
            const page = store.listPage?.(request) ?? { records: [] };
            return then(page, (found) => {
              learn(found.records, started);
              return found;
            });
          },
        }
      : {}),
    // Counts pass through to the store, which every write through this cache reaches.
    ...(store.count ? { count: store.count.bind(store) } : {}),
    // A store's own partitions keep their records apart from its root ids: they pass through
    // uncached (a store without them is partitioned through this cache, by `partitionOf`).
    ...(store.partition ? { partition: store.partition.bind(store) } : {}),
    clear: () => write(() => store.clear(), clearAll, clearAll),
    purgeExpired: (now) =>
      write(
        () => store.purgeExpired(now),
        (removed) => {
          for (const record of removed) entries.delete(record.id);
        },
        clearAll,
      ),
    ...(store.close
      ? {
          close() {
            entries.clear();
            return store.close?.();
          },
        }
      : {}),
  };
}

/** `fn(value)`, synchronously when the store answered synchronously; `failed` runs on a rejection. */
function then<T, R>(value: Awaitable<T>, fn: (value: T) => R, failed?: () => void): Awaitable<R> {
  if (!isThenable(value)) return fn(value);
  return Promise.resolve(value).then(fn, (error: unknown) => {
    failed?.();
    throw error;
  });
}
