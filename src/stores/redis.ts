import type { Redis, RedisOptions } from "ioredis";
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { shortId } from "../log.ts";
import { driverClass, driverError } from "./driver.ts";
import { decodeRecord, encodeRecord, RECORD_FORMAT } from "./record.ts";
import { lazy } from "./shared/lazy.ts";
import { pageOfIds } from "./shared/range.ts";
import { reporter } from "./shared/report.ts";
import type { SessionRecord, SessionStore, StoreContext } from "./types.ts";

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:6379/0` (or `rediss://`). */
  url?: string;
  /** Used when there is no `url`. Default `localhost`. */
  host?: string;
  /** Used when there is no `url`. Default `6379`. */
  port?: number;
  /** Keys are `<prefix>:<namespace>:<id>`; keys of other namespaces are never touched. */
  namespace?: string;
  /** The first part of every key. Default `sessionmanager`. */
  prefix?: string;
  /**
   * An existing ioredis client to share; `close()` then leaves it connected. Without `keyPrefix`:
   * the scripts build key names that ioredis would not prefix.
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
}

/**
 * What the store calls on a client handed in: an ioredis `Redis` has it. Declared here so that
 * type-checking the store needs no ioredis.
 */
export interface RedisClient {
  /** ioredis's connection state: `"wait"` until `connect` (with `lazyConnect`). */
  readonly status: string;
  connect(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Records are deleted, listed and fetched this many at a time. */
const BATCH = 500;
/** How every record of this format begins (`encodeRecord` writes `v` first). */
const MARKER = `{"v":${RECORD_FORMAT},`;

// Whether the record at `key` is of this format and at `version`. cjson parses it; a value that
// is not JSON (another format's) never matches.
const MATCHES = `
local function matches(key, version)
  local value = redis.call('GET', key)
  if not value then return false end
  local ok, record = pcall(cjson.decode, value)
  return ok and type(record) == 'table' and record.v == ${RECORD_FORMAT} and record.version == tonumber(version)
end
`;

/** KEYS: record, index. ARGV: value, expiresAt, pxat, id, condition ('' | 'absent' | 'version'), version. */
const SET = `${MATCHES}
if ARGV[5] == 'absent' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[5] == 'version' and not matches(KEYS[1], ARGV[6]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1`;

/** KEYS: record, index. ARGV: id, version (or ''). */
const DELETE = `${MATCHES}
if ARGV[2] ~= '' and not matches(KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('UNLINK', KEYS[1])`;

/**
 * KEYS: index. ARGV: key prefix, highest expiresAt, offset, count, collect ('1' | '').
 * Deletes a batch of the records in the index up to that expiry, of this format only (others
 * stay, counted in `kept`, so the caller skips them next time); drops index entries whose record
 * Redis has already expired. Returns { entries seen, kept, deleted values }.
 */
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local kept, deleted = 0, {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local value = redis.call('GET', key)
  if not value then
    redis.call('ZREM', KEYS[1], id)
  elseif string.sub(value, 1, ${MARKER.length}) == '${MARKER}' then
    redis.call('UNLINK', key)
    redis.call('ZREM', KEYS[1], id)
    if ARGV[5] == '1' then deleted[#deleted + 1] = value end
  else
    kept = kept + 1
  end
end
return { #ids, kept, deleted }`;

/** KEYS: index. ARGV: key prefix, ids… Drops the ids whose record Redis has expired. */
const PRUNE = `
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0`;

/**
 * Sessions in Redis, shared by every process that points at it. Each record is a string key
 * `<prefix>:<namespace>:<id>` that Redis expires by itself (`PXAT`, `grace` after `expiresAt`);
 * a sorted set `<prefix>:<namespace>` (score `expiresAt`) indexes the namespace, so `list`,
 * `clear` and `purgeExpired` touch this namespace's keys only, without `SCAN` or `FLUSHDB`.
 * Conditional writes are Lua scripts, atomic across processes. Standalone Redis 6.2 or later
 * (not Cluster: the scripts touch keys they cannot declare). Needs the `ioredis` package.
 * @example
 * new SessionManager({ backend: redisStore({ url: process.env.REDIS_URL, namespace: "myapp" }) })
 */
export function redisStore(options: RedisStoreOptions = {}): SessionStore {
  const base = `${options.prefix ?? "sessionmanager"}:${options.namespace ?? DEFAULT_NAMESPACE}`;
  // Record keys end with `:`; the index does not, so no id can name it.
  const prefix = `${base}:`;
  const index = base;
  const grace = options.grace ?? 60_000;
  const report = reporter();
  const redis = lazy(() => createClient(options));
  const decode = (value: string | null, id: string): SessionRecord | undefined =>
    value === null
      ? undefined
      : report.skip(() => decodeRecord(value, `redis ${prefix}${shortId(id)}`));
  /** The records of `ids`; ids whose record Redis expired are dropped from the index. */
  const fetch = async (r: RedisClient, ids: string[]): Promise<SessionRecord[]> => {
    const found: SessionRecord[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const values = await r.mget(batch.map((id) => prefix + id));
      const gone = batch.filter((_, j) => values[j] === null);
      if (gone.length > 0) await evalScript(r, PRUNE, [index], [prefix, ...gone]);
      batch.forEach((id, j) => {
        const record = decode(values[j] ?? null, id);
        if (record) found.push(record);
      });
    }
    return found;
  };
  const sweep = async (upTo: string, collect: boolean): Promise<SessionRecord[]> => {
    const r = await redis();
    const deleted: SessionRecord[] = [];
    for (let skip = 0; ; ) {
      const args = [prefix, upTo, skip, BATCH, collect ? "1" : ""];
      const [seen, kept, values] = (await evalScript(r, SWEEP, [index], args)) as SweepResult;
      skip += kept;
      for (const value of values) {
        const record = decode(value, "");
        if (record) deleted.push(record);
      }
      if (seen < BATCH) return deleted;
    }
  };

  return {
    name: "redis",
    capabilities: { nativeTtl: true },
    async open(context: StoreContext) {
      report.to(context);
      const r = await redis();
      if (r.status === "wait") await r.connect();
    },
    get: async (id) => decode(await (await redis()).get(prefix + id), id),
    async set(record, condition) {
      const mode = !condition ? "" : "ifAbsent" in condition ? "absent" : "version";
      const version = condition && "ifVersion" in condition ? condition.ifVersion : "";
      const pxat = Math.ceil(record.expiresAt + grace);
      const args = [encodeRecord(record), record.expiresAt, pxat, record.id, mode, version];
      return (await evalScript(await redis(), SET, [prefix + record.id, index], args)) === 1;
    },
    async delete(id, condition) {
      const args = [id, condition?.ifVersion ?? ""];
      return (await evalScript(await redis(), DELETE, [prefix + id, index], args)) === 1;
    },
    async list() {
      const r = await redis();
      return fetch(r, await r.zrange(index, 0, -1));
    },
    async listPrefix(start) {
      // The index is ordered by expiry, not by id: filtering its ids costs no record reads.
      const r = await redis();
      return fetch(
        r,
        (await r.zrange(index, 0, -1)).filter((id) => id.startsWith(start)),
      );
    },
    async listPage(request) {
      // The index is ordered by expiry, not by id: only the page's records are read.
      const r = await redis();
      return pageOfIds(await r.zrange(index, 0, -1), request, (ids) => fetch(r, ids));
    },
    async clear() {
      await sweep("+inf", false);
    },
    purgeExpired: (now) => sweep(String(now), true),
    async close() {
      // A client this store made, not one handed in: an ioredis `Redis`.
      const old = await redis.reset();
      const own = options.client ? undefined : (old as Redis | undefined);
      if (own?.status === "ready") await own.quit();
      else own?.disconnect();
    },
  };
}

type SweepResult = [number, number, string[]];

async function createClient(options: RedisStoreOptions): Promise<RedisClient> {
  if (options.client) return options.client;
  const Redis = await loadIoredis();
  const timeout = options.timeout ?? 5000;
  const settings: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    // While Redis is down, a call waits for one reconnection attempt (at most a second apart)
    // and then rejects, rather than queueing forever; reconnecting goes on until it is back.
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  };
  const client = options.url
    ? new Redis(options.url, settings)
    : new Redis({ ...settings, host: options.host ?? "localhost", port: options.port ?? 6379 });
  // Each failed reconnection emits `error`; the calls that fail meanwhile say why, and an
  // unheard `error` would be logged by ioredis on every attempt.
  client.on("error", () => {});
  return client;
}

/** ioredis, on first use: the name written out inside `try` (see driverError). */
async function loadIoredis() {
  try {
    return driverClass("redis", "ioredis", (await import("ioredis")).Redis);
  } catch (error) {
    throw driverError("redis", "ioredis", error);
  }
}

const hashes = new Map<string, string>();

/**
 * Runs a script by its SHA1 (`EVALSHA`), sending its text only when Redis does not know it yet
 * (after a restart or `SCRIPT FLUSH`). Not ioredis `defineCommand`: a shared client is not ours
 * to add commands to.
 */
async function evalScript(
  redis: RedisClient,
  script: string,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  const sha = hashes.get(script) ?? (await sha1(script));
  hashes.set(script, sha);
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
