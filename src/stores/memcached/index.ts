import { BackendError } from "../../errors.ts";
import { shortId } from "../../log.ts";
import { decodeRecord, encodeRecord } from "../record.ts";
import { holds } from "../shared/condition.ts";
import { lazy } from "../shared/lazy.ts";
import { pageOfIds } from "../shared/range.ts";
import { reporter } from "../shared/report.ts";
import type { SessionRecord, SessionStore, StoreContext } from "../types.ts";
import { index, readIndex, unindex } from "./ids.ts";
import {
  ADD,
  type Connection,
  createConnection,
  type Got,
  type MemcachedClient,
  memcachedExptime,
  SET,
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
}

/**
 * Sessions in Memcached, shared by every process that points at it, expired by Memcached itself
 * (its exptime, rounded up to whole seconds). Keys hold a SHA-256 of the id (ids may be long and
 * hold spaces), the record holds the id. An index key per namespace lists its ids, updated with
 * CAS, so `list` and `clear` never flush the server. Needs the `memjs` package.
 *
 * What Memcached cannot guarantee, unlike Redis or PostgreSQL:
 * - It is a cache: under memory pressure it evicts items before they expire, so a live session
 *   can vanish (the user is logged out), and so can the index (then `list` misses sessions
 *   until they are written again). Size it so that it never evicts (`stats` `evictions` stays 0).
 * - A restart or a `flush_all` loses every session; nothing is persisted or replicated.
 * - The record and its index entry are two writes: a process that dies between them leaves a
 *   record that `list` does not show (it still reads, and expires) or an index entry without a
 *   record (dropped on the next `list`). The index is best effort; `get` is exact.
 * - The index is one item: by default at most 1 MB (`-I` raises it), some 20,000 ids of 40
 *   characters; beyond that, adding ids fails. Busy namespaces contend on its CAS.
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
  const connect = lazy(() => createConnection(options));
  const read = (got: Got | undefined, id: string, quiet = false): SessionRecord | undefined => {
    if (!got) return undefined;
    const record = report.skip(() => decodeRecord(got.value, `memcached ${shortId(id)}`), quiet);
    // Another id with the same SHA-256 (never seen yet) reads as absent, not as this one.
    return record?.id === id ? record : undefined;
  };
  /** The records of `ids` (all the index names), with their CAS; ids of records gone are dropped. */
  const entries = async (c: Connection, listed?: string[]) => {
    const ids = listed ?? (await readIndex(c));
    const found: { record: SessionRecord; got: Got }[] = [];
    const gone: string[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const batch = ids.slice(i, i + 100);
      const gots = await Promise.all(batch.map(async (id) => c.gets(await c.key(id))));
      batch.forEach((id, j) => {
        const got = gots[j];
        const record = read(got, id);
        if (got && record) found.push({ record, got });
        else if (!got) gone.push(id);
      });
    }
    if (gone.length > 0) await unindex(c, gone);
    return found;
  };
  /** Deletes the records `pick` picks, each only as it was read; returns those deleted. */
  const sweep = async (pick: (record: SessionRecord) => boolean) => {
    const c = await connect();
    const picked = (await entries(c)).filter(({ record }) => pick(record));
    const done = await Promise.all(
      picked.map(async ({ record, got }) => c.remove(await c.key(record.id), got.cas)),
    );
    const deleted = picked.filter((_, i) => done[i]).map(({ record }) => record);
    if (deleted.length > 0)
      await unindex(
        c,
        deleted.map(({ id }) => id),
      );
    return deleted;
  };
  const reportIndex = (error: unknown) =>
    report(new BackendError(`memcached could not update its index: ${error}`, { cause: error }));

  return {
    name: "memcached",
    capabilities: { nativeTtl: true },
    async open(context: StoreContext) {
      report.to(context);
      const c = await connect();
      await readIndex(c);
    },
    async get(id) {
      const c = await connect();
      return read(await c.gets(await c.key(id)), id);
    },
    async set(record, condition) {
      const c = await connect();
      const key = await c.key(record.id);
      const value = encodeRecord(record);
      const exptime = memcachedExptime(record.expiresAt + grace, Date.now());
      if (condition && "ifVersion" in condition) {
        const current = await c.gets(key);
        if (!holds(read(current, record.id, true), condition)) return false;
        // An existing record is in the index already.
        return c.store(SET, key, value, exptime, current?.cas);
      }
      if (!(await c.store(condition ? ADD : SET, key, value, exptime))) return false;
      // The record is written, which is what counts: an index that could not be updated is
      // reported, not thrown (the next `list` would not show the record; `get` does).
      await index(c, record.id).catch(reportIndex);
      return true;
    },
    async delete(id, condition) {
      const c = await connect();
      const key = await c.key(id);
      let cas: Uint8Array | undefined;
      if (condition) {
        const current = await c.gets(key);
        if (!holds(read(current, id, true), condition)) return false;
        cas = current?.cas;
      }
      if (!(await c.remove(key, cas))) return false;
      await unindex(c, [id]).catch(reportIndex);
      return true;
    },
    list: async () => (await entries(await connect())).map(({ record }) => record),
    async listPrefix(prefix) {
      const c = await connect();
      const ids = (await readIndex(c)).filter((id) => id.startsWith(prefix));
      return (await entries(c, ids)).map(({ record }) => record);
    },
    async listPage(request) {
      const c = await connect();
      const records = async (ids: string[]) => (await entries(c, ids)).map(({ record }) => record);
      return pageOfIds(await readIndex(c), request, records);
    },
    async clear() {
      await sweep(() => true);
    },
    purgeExpired: (now) => sweep((record) => record.expiresAt <= now),
    async close() {
      (await connect.reset())?.quit();
    },
  };
}
