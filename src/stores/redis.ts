/**
 * The Redis store (Node, through ioredis, an optional peer dependency).
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { shortId } from "../log.ts";
import { decodeRecord, encodeRecord } from "./record.ts";
import { closeClient, createClient, type RedisClusterNodes } from "./redis/client.ts";
import { keysOf, type Space } from "./redis/keys.ts";
import { logBounds, logSettings, readChanges } from "./redis/log.ts";
import {
  DELETE,
  evalScript,
  PRUNE,
  REGISTER,
  SET,
  SETTLE,
  SWEEP,
  type SweepResult,
} from "./redis/scripts.ts";
import { LogWatch, openSubscriber } from "./redis/watch.ts";
import type { WatchListener } from "./shared/fanout.ts";
import { lazy } from "./shared/lazy.ts";
import { ownerPartition, sweepOwners } from "./shared/owners.ts";
import { pageOfIds } from "./shared/range.ts";
import { reporter } from "./shared/report.ts";
import type {
  ChangeLogOptions,
  ChangesRequest,
  CountRequest,
  ListRequest,
  Page,
  SessionPartition,
  SessionRecord,
  SessionStore,
  StoreChange,
  StoreContext,
  WriteCondition,
} from "./types.ts";

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:6379/0` (or `rediss://`). */
  url?: string;
  /** Used when there is no `url`. Default `localhost`. */
  host?: string;
  /** Used when there is no `url`. Default `6379`. */
  port?: number;
  /**
   * The nodes of a Redis Cluster (instead of `url`, `host` and `port`): `[{ host, port }, …]`, or
   * `"redis://host:port,redis://host:port"` (a password or `rediss://` in the first applies to
   * all). A few are enough: the client learns the others from them.
   */
  cluster?: RedisClusterNodes;
  /**
   * Keys are `<prefix>:{<namespace>}:…` (see `redisStore`); keys of other namespaces are never
   * touched, whatever characters the names hold.
   */
  namespace?: string;
  /** The first part of every key. Default `sessionmanager`. */
  prefix?: string;
  /**
   * An existing ioredis client (a `Redis`, or a `Cluster`) to share; `close()` then leaves it
   * connected. Without `keyPrefix`: the scripts build key names that ioredis would not prefix.
   */
  client?: RedisClient;
  /**
   * How long (ms) past `expiresAt` Redis keeps a record before dropping it by itself. Default
   * 60000: a manager fires `expired` when its timer reads the record at `expiresAt`, which it no
   * longer can once Redis has dropped it. Reads never return an expired session either way.
   */
  grace?: number;
  /** How long (ms) connecting or one command may take before the call rejects. Default 5000. */
  timeout?: number;
  /**
   * The bounds of each owner's change log (`partition(owner).changes`): at most `maxEntries`
   * entries (default 1000), none older than `maxAge` ms (default 1 hour). The log of an owner is
   * a stream under the owner's hash tag, appended to by the same script as each write, and every
   * entry is published on the namespace's channel for the `watch` of every process.
   */
  changeLog?: ChangeLogOptions;
}

/**
 * What the store calls on a client handed in: an ioredis `Redis` has it. Declared here so that
 * type-checking the store needs no ioredis.
 */
export interface RedisClient {
  /** ioredis's connection state: `"wait"` until `connect` (with `lazyConnect`). */
  readonly status: string;
  /** Connects a client made with `lazyConnect`. */
  connect(): Promise<unknown>;
  /** Redis `GET`. */
  get(key: string): Promise<string | null>;
  /** Redis `MGET`. */
  mget(keys: string[]): Promise<(string | null)[]>;
  /** Redis `ZRANGE` by rank. */
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  /** Redis `ZRANGEBYSCORE`. */
  zrangebyscore(key: string, min: number | string, max: number | string): Promise<string[]>;
  /** Optional (an ioredis `Redis` has it): without it, `count` reads the ids it counts. */
  zcount?(key: string, min: number | string, max: number | string): Promise<number>;
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Records are deleted, listed and fetched this many at a time. */
const BATCH = 500;
/** Owners swept at once by the root's `clear` and `purgeExpired`. */
const OWNERS_AT_ONCE = 16;
/**
 * How long (ms) after an owner's last write a sweep leaves its entry in the registry as it is:
 * far longer than a write takes from registering to landing in the index.
 */
const SETTLE_MARGIN = 5 * 60_000;
/** How long (ms) a store counts on its registration of an owner (well within SETTLE_MARGIN). */
const REGISTER_AGAIN = 60_000;

/** The records of one space (the root's, or one owner's), as one of the store's parts. */
interface Records {
  get(id: string): Promise<SessionRecord | undefined>;
  set(record: SessionRecord, condition?: WriteCondition, change?: StoreChange): Promise<boolean>;
  delete(
    id: string,
    condition?: { readonly ifVersion: number },
    change?: StoreChange,
  ): Promise<boolean>;
  ids(): Promise<string[]>;
  fetch(ids: string[]): Promise<SessionRecord[]>;
  page(request: ListRequest): Promise<Page>;
  /** The live records: the index entries scored (expiresAt) after `now`, one `ZCOUNT`. */
  count(request: CountRequest): Promise<number>;
  /**
   * Deletes the records up to `upTo` (expiresAt), logged as `change`; returns them, and the
   * lowest expiresAt left.
   */
  sweep(
    upTo: string,
    collect: boolean,
    change: StoreChange,
  ): Promise<{ deleted: SessionRecord[]; next: string }>;
}

/**
 * Sessions in Redis, shared by every process that points at it. Each record is a string key that
 * Redis expires by itself (`PXAT`, `grace` after `expiresAt`); a sorted set (score `expiresAt`)
 * indexes a set of records, so that listing, clearing and purging touch those keys only, without
 * `SCAN` or `FLUSHDB`. Conditional writes are Lua scripts, atomic across processes. Redis 6.2 or
 * later, standalone or Cluster (`cluster`). Needs the `ioredis` package.
 *
 * Keys (`keysOf` in src/stores/redis/keys.ts): the namespace's own records (a manager's) are
 * `<prefix>:{<namespace>}:s:<id>`, indexed by `<prefix>:{<namespace>}:i`; an owner's (the
 * server's `partition(owner)`) are `<prefix>:{<namespace>:<owner>}:s:<id>` with an index of their
 * own, so no request of one owner costs work in proportion to another's sessions. `%`, `{` and `}`
 * are percent-encoded in the prefix, and `:` too in the namespace and the owner: no namespace or
 * owner reaches another's keys, whatever characters the names hold. Each script touches one hash
 * tag (`{…}`), which Redis Cluster keeps on one slot. The owners with records are listed in
 * `<prefix>:{<namespace>}:o` (with when each is next due for a sweep), so that the root's `clear`
 * and `purgeExpired` reach every owner, the latter only those with something due.
 *
 * Each owner's writes are logged (`partition(owner).changes`) in a stream under the owner's tag
 * (`…:{<namespace>:<owner>}:l`, bounded by `changeLog`), appended by the same script as the write
 * (a write whose condition fails logs nothing) and published on `<prefix>:{<namespace>}:c`, where
 * one subscriber connection per store (opened by the first `watch`) hears every process's.
 * @example
 * new SessionManager({ backend: redisStore({ url: process.env.REDIS_URL, namespace: "myapp" }) })
 */
export function redisStore(options: RedisStoreOptions = {}): SessionStore {
  const keys = keysOf(options.prefix ?? "sessionmanager", options.namespace ?? DEFAULT_NAMESPACE);
  const grace = options.grace ?? 60_000;
  const report = reporter();
  const bounds = logBounds(options.changeLog);
  const redis = lazy(async (): Promise<RedisClient> => options.client ?? createClient(options));
  const registry = [keys.owners, keys.writes];

  /**
   * The records of `space`; `register` runs before each write (an owner's registration), `log`
   * is the owner's change log (the keys and arguments its scripts take).
   */
  const records = (
    space: Space,
    register?: (record: SessionRecord) => Promise<unknown>,
    log: { keys: string[]; args: (string | number)[] } = { keys: [], args: [] },
  ) => {
    const { recordPrefix, index } = space;
    const decode = (value: string | null, id: string): SessionRecord | undefined =>
      value === null
        ? undefined
        : report.skip(() => decodeRecord(value, `redis ${recordPrefix}${shortId(id)}`));
    const part: Records = {
      get: async (id) => decode(await (await redis()).get(recordPrefix + id), id),
      async set(record, condition, change) {
        const r = await redis();
        await register?.(record);
        const mode = !condition ? "" : "ifAbsent" in condition ? "absent" : "version";
        const version = condition && "ifVersion" in condition ? condition.ifVersion : "";
        const pxat = Math.ceil(record.expiresAt + grace);
        const value = encodeRecord(record);
        const args = [value, record.expiresAt, pxat, record.id, mode, version, change ?? ""];
        const keys = [recordPrefix + record.id, index, ...log.keys];
        return (await evalScript(r, SET, keys, [...args, ...log.args])) === 1;
      },
      async delete(id, condition, change) {
        const args = [id, condition?.ifVersion ?? "", change ?? "", ...log.args];
        const keys = [recordPrefix + id, index, ...log.keys];
        return (await evalScript(await redis(), DELETE, keys, args)) === 1;
      },
      ids: async () => (await redis()).zrange(index, 0, -1),
      /** The records of `ids`; ids whose record Redis expired are dropped from the index. */
      async fetch(ids) {
        const r = await redis();
        const found: SessionRecord[] = [];
        for (let i = 0; i < ids.length; i += BATCH) {
          const batch = ids.slice(i, i + BATCH);
          const values = await r.mget(batch.map((id) => recordPrefix + id));
          const gone = batch.filter((_, j) => values[j] === null);
          if (gone.length > 0) {
            const settings = log.args.length > 0 ? log.args : ["", "", "", ""];
            await evalScript(r, PRUNE, [index, ...log.keys], [recordPrefix, ...settings, ...gone]);
          }
          batch.forEach((id, j) => {
            const record = decode(values[j] ?? null, id);
            if (record) found.push(record);
          });
        }
        return found;
      },
      // The index is ordered by expiry, not by id: only the page's records are read.
      page: async (request) => pageOfIds(await part.ids(), request, part.fetch),
      async count({ now, upTo = Number.POSITIVE_INFINITY }) {
        const r = await redis();
        const after = `(${now}`;
        const live = r.zcount
          ? await r.zcount(index, after, "+inf")
          : (await r.zrangebyscore(index, after, "+inf")).length;
        return Math.min(live, upTo);
      },
      async sweep(upTo, collect, change) {
        const r = await redis();
        const deleted: SessionRecord[] = [];
        for (let skip = 0; ; ) {
          const args = [recordPrefix, upTo, skip, BATCH, collect ? "1" : "", change, ...log.args];
          const keys = [index, ...log.keys];
          const [seen, kept, values, next] = (await evalScript(
            r,
            SWEEP,
            keys,
            args,
          )) as SweepResult;
          skip += kept;
          for (const value of values) {
            const record = decode(value, "");
            if (record) deleted.push(record);
          }
          if (seen < BATCH) return { deleted, next };
        }
      },
    };
    return part;
  };

  const root = records(keys.root);
  /** The owners this store registered lately: when, and with which expiresAt. */
  const registered = new Map<string, { at: number; expiresAt: number }>();
  /**
   * Registers `owner` before a write of `record` (see REGISTER), unless this store did within
   * `REGISTER_AGAIN` ms for an expiresAt no later: then the registry's due time is no later
   * either (a sweep moves it only for owners whose last write is older than `SETTLE_MARGIN`),
   * and the write time it holds is recent enough for the margin.
   */
  const register = async (owner: string, record: SessionRecord) => {
    const now = Date.now();
    const last = registered.get(owner);
    if (last && now - last.at < REGISTER_AGAIN && last.expiresAt <= record.expiresAt) return;
    await evalScript(await redis(), REGISTER, registry, [owner, record.expiresAt]);
    if (registered.size >= 10_000) registered.clear();
    registered.set(owner, { at: now, expiresAt: record.expiresAt });
  };
  /** An owner's records: each write registers the owner first, and is logged. */
  const ownerRecords = (owner: string) => {
    const space = keys.owner(owner);
    const log = logSettings(space, owner, bounds, keys.channel);
    return records(space, (record) => register(owner, record), log);
  };
  /**
   * Sweeps the owner's records up to `upTo` (logged as `change`), then moves (or drops) its
   * entry in the registry.
   */
  const sweepOwner = async (owner: string, upTo: string, collect: boolean, change: StoreChange) => {
    const { deleted, next } = await ownerRecords(owner).sweep(upTo, collect, change);
    await evalScript(await redis(), SETTLE, registry, [owner, next, SETTLE_MARGIN]);
    return deleted;
  };
  const sweepAll = (owners: string[], upTo: string, collect: boolean, change: StoreChange) =>
    sweepOwners(owners, OWNERS_AT_ONCE, (owner) => sweepOwner(owner, upTo, collect, change));
  const decodeEntry = (text: string, id: string) =>
    report.skip(() => decodeRecord(text, `redis log ${shortId(id)}`));
  const changesOf = async (owner: string, request: ChangesRequest) =>
    readChanges(await redis(), keys.owner(owner), request, bounds, decodeEntry);
  const watching = new LogWatch({
    channel: keys.channel,
    open: async () => openSubscriber(await redis()),
    changes: changesOf,
    decode: decodeEntry,
    report,
  });
  /** The owner's records, with its change log. */
  const partition = (owner: string): SessionPartition => {
    const own = ownerRecords(owner);
    return {
      ...ownerPartition(owner, { ...own, clear: () => sweepOwner(owner, "+inf", true, "removed") }),
      set: own.set,
      delete: own.delete,
      changes: (request: ChangesRequest) => changesOf(owner, request),
      watch: (listener: WatchListener) => watching.watch(owner, listener),
    };
  };

  return {
    name: "redis",
    capabilities: { nativeTtl: true },
    async open(context: StoreContext) {
      report.to(context);
      const r = await redis();
      if (r.status === "wait") await r.connect();
    },
    get: root.get,
    set: root.set,
    delete: root.delete,
    list: async () => root.fetch(await root.ids()),
    // The index is ordered by expiry, not by id: filtering its ids costs no record reads.
    listPrefix: async (start) =>
      root.fetch((await root.ids()).filter((id) => id.startsWith(start))),
    listPage: root.page,
    // Partitions count with ZCOUNT; the root (a manager's, listed whole) has no count.
    partition,
    async clear() {
      await root.sweep("+inf", false, "removed");
      await sweepAll(await (await redis()).zrange(keys.owners, 0, -1), "+inf", false, "removed");
    },
    async purgeExpired(now) {
      const upTo = String(now);
      const { deleted } = await root.sweep(upTo, true, "expired");
      // Only the owners whose earliest expiry may have come.
      const due = await (await redis()).zrangebyscore(keys.owners, "-inf", upTo);
      return [...deleted, ...(await sweepAll(due, upTo, true, "expired"))];
    },
    async close() {
      watching.close();
      // A client this store made, not one handed in: QUIT, or dropped when QUIT cannot go
      // through (a Cluster with a master down stays "ready" and its QUIT rejects).
      const old = await redis.reset();
      if (old && !options.client) await closeClient(old as Redis);
    },
  };
}

export type { RedisClusterNode, RedisClusterNodes } from "./redis/client.ts";
