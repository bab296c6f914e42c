// The Redis store's Lua scripts, and how it runs them. Each script touches the keys of one hash
// tag only (a record and its index; or an owner registry), so that on Redis Cluster each would
// run on one slot.
import { createHash } from "node:crypto";
import { RECORD_FORMAT } from "../record.ts";

/** What the scripts call on a client: an ioredis `Redis` has it. */
export interface ScriptClient {
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** How every record of this format begins (`encodeRecord` writes `v` first). */
const MARKER = `{"v":${RECORD_FORMAT},`;

// Whether the record at `key` is of this format and at `version`, read from the text without
// decoding it: Lua cjson refuses the \ud800 escape JSON.stringify writes for a lone surrogate
// in data, so a decoded record with one never matched and could never be written again (B1).
// A record is `{"v":1,"id":…,"data":…,"createdAt":…,…,"version":N` then only numbers or
// `true` (maxAge, encrypted): the last `,"version":` followed by digits is the field, as a
// string can hold `"version":` only with its quotes escaped and only data (before it) can
// hold object keys. The greedy `.*` finds that last one.
const MATCHES = `
local function matches(key, version)
  local value = redis.call('GET', key)
  if not value or string.sub(value, 1, ${MARKER.length}) ~= '${MARKER}' then return false end
  return string.match(value, '^.*,"version":(%d+)[,}]') == version
end
`;

/** Redis's clock in ms, in a script. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** KEYS: record, index. ARGV: value, expiresAt, pxat, id, condition ('' | 'absent' | 'version'), version. */
export const SET: string = `${MATCHES}
if ARGV[5] == 'absent' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[5] == 'version' and not matches(KEYS[1], ARGV[6]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1`;

/** KEYS: record, index. ARGV: id, version (or ''). */
export const DELETE: string = `${MATCHES}
if ARGV[2] ~= '' and not matches(KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('UNLINK', KEYS[1])`;

/**
 * KEYS: index. ARGV: record key prefix, highest expiresAt, offset, count, collect ('1' | '').
 * Deletes a batch of the records in the index up to that expiry, of this format only (others
 * stay, counted in `kept`, so the caller skips them next time); drops index entries whose record
 * Redis has already expired. Returns { entries seen, kept, deleted values, the lowest expiresAt
 * left in the index ('' when it is empty) }.
 */
export const SWEEP: string = `
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
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #ids, kept, deleted, first[2] or '' }`;

/** KEYS: index. ARGV: record key prefix, ids… Drops the ids whose record Redis has expired. */
export const PRUNE = `
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0`;

/**
 * KEYS: owners (sorted set: owner → the earliest expiresAt its index may hold), writes (hash:
 * owner → when it last wrote, Redis's clock). ARGV: owner, expiresAt. Run before each write of
 * the owner's, so that the root's `clear` and `purgeExpired` find its index.
 */
export const REGISTER: string = `${NOW}
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
return 1`;

/**
 * KEYS: owners, writes. ARGV: owner, the lowest expiresAt left in its index ('' when empty),
 * margin (ms). After a sweep of the owner's index: moves the owner's due time to what is left,
 * or forgets an owner with nothing left; not for an owner that registered a write within the
 * margin (its record may land in the index after the sweep read it), which stays due.
 */
export const SETTLE: string = `${NOW}
local at = redis.call('HGET', KEYS[2], ARGV[1])
if at and tonumber(at) > now - tonumber(ARGV[3]) then return 0 end
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1`;

export type SweepResult = [number, number, string[], string];

const hashes = new Map<string, string>();

/**
 * Runs a script by its SHA1 (`EVALSHA`), sending its text only when Redis does not know it yet
 * (after a restart or `SCRIPT FLUSH`). Not ioredis `defineCommand`: a shared client is not ours
 * to add commands to.
 */
export async function evalScript(
  redis: ScriptClient,
  script: string,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  let sha = hashes.get(script);
  if (sha === undefined) {
    sha = createHash("sha1").update(script).digest("hex");
    hashes.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}
