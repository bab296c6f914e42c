/**
 * The Memcached store (Node, through memjs, an optional peer dependency): a cache, which can
 * evict live sessions.
 * @packageDocumentation
 */
import { BackendError } from "../../errors.ts";
import { shortId } from "../../log.ts";
import { decodeRecord, encodeRecord } from "../record.ts";
import { holds } from "../shared/condition.ts";
import { lazy } from "../shared/lazy.ts";
import { ownerPartition, sweepOwners } from "../shared/owners.ts";
import { pageOfIds } from "../shared/range.ts";
import { reporter } from "../shared/report.ts";
import type {
  CountRequest,
  ListRequest,
  Page,
  SessionRecord,
  SessionStore,
  StoreContext,
  WriteCondition,
} from "../types.ts";
import { indexer, readIndex, readOwners, register } from "./ids.ts";
import {
  ADD,
  type Connection,
  createConnection,
  type Got,
  type MemcachedClient,
  memcachedExptime,
  SET,
  type Space,
} from "./protocol.ts";

export type { MemcachedClient, MemcachedResponse } from "./protocol.ts";

/** Options of the Memcached store. */
export interface MemcachedStoreOptions {
  /** `memcached://[user:password@]host:11211`, or several servers: `host1:11211,host2:11211`. */
  url?: string;
  /** Used when there is no `url`. Default `localhost`. */
  host?: string;
  /** Used when there is no `url`. Default `11211`. */
  port?: number;
  /** Keys are `<prefix>:<namespace>:<hash of id>`; other namespaces' keys are never touched. */
  namespace?: string;
  /** The first part of every key. Default `sessionmanager`. */
  prefix?: string;
  /** An existing memjs client to share; `close()` then leaves it connected. */
  client?: MemcachedClient;
  /**
   * How long (ms) past `expiresAt` Memcached keeps a record before dropping it by itself.
   * Default 60000, so that a manager's timer can still read a session at `expiresAt` and fire
   * `expired`. Reads never return an expired session either way.
   */
  grace?: number;
  /** How long (ms) connecting or one request may take before the call rejects. Default 2000. */
  timeout?: number;
  /**
   * The largest item (bytes) the server stores: memcached's `-I`. Default 1 MiB (memcached's
   * default). A record or an index that would be larger is refused with `BackendError` before it
   * is sent: memcached drops the item that a too-large write would have replaced.
   */
  itemSize?: number;
}

/**
 * Sessions in Memcached, shared by every process that points at it, expired by Memcached itself
 * (its exptime, rounded up to whole seconds). Keys hold a SHA-256 of the id (ids may be long and
 * hold spaces), the record holds the id. An index item lists the ids of the namespace's own
 * records (a manager's), and one per owner those of each owner (the server's `partition(owner)`),
 * so `list` and `clear` never flush the server and no owner's list reads another's ids. Indexes
 * are updated with CAS, batched per connection; a registry of owners (64 items) lets the root's
 * `clear` and `purgeExpired` reach every owner. A write is acknowledged only once it is indexed:
 * one that cannot be (the index would pass the item size limit) fails with `BackendError` and is
 * undone, and nothing else changes. Needs the `memjs` package.
 *
 * What Memcached cannot guarantee, unlike Redis or PostgreSQL:
 * - It is a cache: under memory pressure it evicts items before they expire, so a live session
 *   can vanish (the user is logged out), and so can the index (then `list` misses sessions
 *   until they are written again). Size it so that it never evicts (`stats` `evictions` stays 0).
 * - A restart or a `flush_all` loses every session; nothing is persisted or replicated.
 * - The record and its index entry are two writes: a process that dies between them leaves a
 *   record that `list` does not show (it still reads, and expires) or an index entry without a
 *   record (dropped on the next `list`). The index is best effort; `get` is exact.
 * - An index is one item: by default at most 1 MB (`-I` raises it, and `itemSize` tells the
 *   store), some 20,000 ids of 40 characters per owner (or in the namespace's own records);
 *   beyond that, writes of new ids fail with `BackendError`. The registry of owners holds some
 *   20,000 owner names of 40 characters per item, over 64 items.
 * - Expiry is in whole seconds, and lifetimes over 30 days are sent as unix times, which assume
 *   the server's clock agrees with this one.
 * - With several servers, keys are spread by a hash of the key: a server that goes away takes
 *   its share of the sessions with it.
 * @example
 * new SessionManager({ backend: memcachedStore({ url: "localhost:11211", namespace: "myapp" }) })
 */
export function memcachedStore(options: MemcachedStoreOptions = {}): SessionStore {
  const grace = options.grace ?? 60_000;
  const report = reporter();
  const connect = lazy(async () => {
    const c = await createConnection(options);
    return { c, index: indexer(c) };
  });
  /**
   * Owners this store has listed in the registry (which never forgets one), or is listing: the
   * writes of one owner at once wait for one registration.
   */
  const registered = new Map<string, Promise<void>>();
  const listOwner = (c: Connection, owner: string) => {
    let done = registered.get(owner);
    if (!done) {
      if (registered.size >= 10_000) registered.clear();
      done = register(c, owner).catch((error: unknown) => {
        registered.delete(owner);
        throw error;
      });
      registered.set(owner, done);
    }
    return done;
  };
  const read = (got: Got | undefined, id: string, quiet = false): SessionRecord | undefined => {
    if (!got) return undefined;
    const record = report.skip(() => decodeRecord(got.value, `memcached ${shortId(id)}`), quiet);
    // Another id with the same SHA-256 (never seen yet) reads as absent, not as this one.
    return record?.id === id ? record : undefined;
  };
  const reportIndex = (error: unknown) =>
    report(new BackendError(`memcached could not update its index: ${error}`, { cause: error }));
  /** The records of the space `pick` gives (the root's, or `owner`'s). */
  const records = (pick: (c: Connection) => Space, owner?: string) => {
    /** The records of `ids` (all the index lists), with their CAS; ids of records gone are pruned. */
    const entries = async (listed?: string[]) => {
      const { c, index } = await connect();
      const space = pick(c);
      const ids = listed ?? (await readIndex(c, space));
      const found: { record: SessionRecord; got: Got }[] = [];
      const gone: string[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const batch = ids.slice(i, i + 100);
        const gots = await Promise.all(batch.map((id) => c.gets(space.key(id))));
        batch.forEach((id, j) => {
          const got = gots[j];
          const record = read(got, id);
          if (got && record) found.push({ record, got });
          else if (!got) gone.push(id);
        });
      }
      await index.prune(space, gone);
      return found;
    };
    /** Puts back what a write replaced (`before`), or deletes it, if it is still the last write. */
    const undo = async (c: Connection, key: string, cas: Uint8Array, before?: Got) => {
      if (!before) return c.remove(key, cas);
      const previous = report.skip(() => decodeRecord(before.value, "memcached"), true);
      const until = (previous?.expiresAt ?? Date.now()) + grace;
      return c.store(SET, key, before.value, memcachedExptime(until, Date.now()), cas);
    };
    return {
      async get(id: string) {
        const { c } = await connect();
        return read(await c.gets(pick(c).key(id)), id);
      },
      async set(record: SessionRecord, condition?: WriteCondition): Promise<boolean> {
        const { c, index } = await connect();
        const space = pick(c);
        const key = space.key(record.id);
        const value = encodeRecord(record);
        if (!c.fits(key, Buffer.byteLength(value))) {
          throw new BackendError(
            `memcached cannot store session ${shortId(record.id)}: it is over the server's item size limit`,
          );
        }
        const exptime = memcachedExptime(record.expiresAt + grace, Date.now());
        if (condition && "ifVersion" in condition) {
          const current = await c.gets(key);
          if (!holds(read(current, record.id, true), condition)) return false;
          // An existing record is listed already (its writer listed it before it answered).
          return (await c.store(SET, key, value, exptime, current?.cas)) !== false;
        }
        if (owner !== undefined) await listOwner(c, owner);
        const before = condition ? undefined : await c.gets(key);
        const cas = await c.store(condition ? ADD : SET, key, value, exptime);
        if (!cas) return false;
        try {
          await index.add(space, record.id);
        } catch (error) {
          // Not acknowledged while not listed: undone, so that it fails as a whole.
          await undo(c, key, cas, before).catch(() => {});
          throw error;
        }
        return true;
      },
      async delete(id: string, condition?: { readonly ifVersion: number }) {
        const { c, index } = await connect();
        const space = pick(c);
        const key = space.key(id);
        let cas: Uint8Array | undefined;
        if (condition) {
          const current = await c.gets(key);
          if (!holds(read(current, id, true), condition)) return false;
          cas = current?.cas;
        }
        if (!(await c.remove(key, cas))) return false;
        // A listed id without a record is pruned by the next list.
        await index.prune(space, [id]).catch(reportIndex);
        return true;
      },
      list: async () => (await entries()).map(({ record }) => record),
      async page(request: ListRequest): Promise<Page> {
        const { c } = await connect();
        const ids = await readIndex(c, pick(c));
        return pageOfIds(ids, request, async (page) => (await entries(page)).map((e) => e.record));
      },
      /**
       * The live records among those the index lists, at most `upTo`: the index keeps no
       * expiry (and may list ids whose record is gone), so each record is read, 100 at a time,
       * stopping at the bound.
       */
      async count({ now, upTo = Number.POSITIVE_INFINITY }: CountRequest) {
        const { c } = await connect();
        const space = pick(c);
        const ids = await readIndex(c, space);
        let live = 0;
        for (let i = 0; i < ids.length && live < upTo; i += 100) {
          const batch = ids.slice(i, i + 100);
          const gots = await Promise.all(batch.map((id) => c.gets(space.key(id))));
          batch.forEach((id, j) => {
            if ((read(gots[j], id, true)?.expiresAt ?? now) > now) live++;
          });
        }
        return Math.min(live, upTo);
      },
      async listPrefix(prefix: string) {
        const { c } = await connect();
        const ids = (await readIndex(c, pick(c))).filter((id) => id.startsWith(prefix));
        return (await entries(ids)).map(({ record }) => record);
      },
      /** Deletes the records `choose` picks, each only as it was read; returns those deleted. */
      async sweep(choose: (record: SessionRecord) => boolean) {
        const { c, index } = await connect();
        const space = pick(c);
        const picked = (await entries()).filter(({ record }) => choose(record));
        const done = await Promise.all(
          picked.map(({ record, got }) => c.remove(space.key(record.id), got.cas)),
        );
        const deleted = picked.filter((_, i) => done[i]).map(({ record }) => record);
        await index.prune(
          space,
          deleted.map(({ id }) => id),
        );
        return deleted;
      },
    };
  };
  const root = records((c) => c.root);
  const partition = (owner: string) => records((c) => c.owner(owner), owner);
  /** Sweeps every owner's records with `choose`: the records deleted, with the owner's prefix. */
  const sweepAll = async (choose: (record: SessionRecord) => boolean) => {
    const { c } = await connect();
    return sweepOwners(await readOwners(c), 8, (owner) => partition(owner).sweep(choose));
  };

  return {
    name: "memcached",
    capabilities: { nativeTtl: true, processLog: "none" },
    async open(context: StoreContext) {
      report.to(context);
      const { c } = await connect();
      await readIndex(c, c.root);
    },
    get: root.get,
    set: root.set,
    delete: root.delete,
    list: root.list,
    listPrefix: root.listPrefix,
    listPage: root.page,
    partition(owner) {
      const own = partition(owner);
      return ownerPartition(owner, { ...own, clear: () => own.sweep(() => true) });
    },
    async clear() {
      await root.sweep(() => true);
      await sweepAll(() => true);
    },
    async purgeExpired(now) {
      const expired = (record: SessionRecord) => record.expiresAt <= now;
      return [...(await root.sweep(expired)), ...(await sweepAll(expired))];
    },
    async close() {
      (await connect.reset())?.c.quit();
    },
  };
}
