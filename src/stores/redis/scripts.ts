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

/** Whether the stream id `a` comes before `b` (ids are `ms-seq`, two numbers of up to 20 digits). */
const BEFORE = `
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
`;

/** How long (ms) past `maxAge` an owner's log remembers the id of its newest entry. */
export const LOG_MEMORY = 86_400_000;

/**
 * An owner's change log, in the scripts that write its records: `log_open(k, a)` opens it when
 * `KEYS[k]` (the stream) is given, with `KEYS[k + 1]` (a hash: `f` the id of the newest entry
 * dropped, `l` of the newest written) and ARGV `a` … `a + 3` (maxEntries, maxAge, channel,
 * owner); `log_add` appends an entry and publishes it (`[owner, id, change, session id, record
 * or false]`) in the same script as the write; `log_close` drops what the bounds exclude. The
 * stream expires with its newest entry (`maxAge`), the hash a day later: an entry after a cursor
 * that the log dropped (by count, by age, or the whole stream expired) makes the cursor resync.
 */
const LOG = `${BEFORE}
local log = nil
local function log_open(k, a)
  if not KEYS[k] then return end
  log = { key = KEYS[k], meta = KEYS[k + 1], max = tonumber(ARGV[a]), age = tonumber(ARGV[a + 1]),
    channel = ARGV[a + 2], owner = ARGV[a + 3] }
end
local function log_add(change, id, record)
  if not log then return end
  if not log.last and redis.call('EXISTS', log.key) == 0 then
    log.dropped = redis.call('HGET', log.meta, 'l') or nil
  end
  if record then log.last = redis.call('XADD', log.key, '*', 'c', change, 'i', id, 'r', record)
  else log.last = redis.call('XADD', log.key, '*', 'c', change, 'i', id) end
  redis.call('PUBLISH', log.channel, cjson.encode({ log.owner, log.last, change, id, record or false }))
end
local function log_close()
  if not log or not log.last then return end
  local over = redis.call('XLEN', log.key) - log.max
  if over > 0 then
    local gone = redis.call('XRANGE', log.key, '-', '+', 'COUNT', over)
    log.dropped = gone[#gone][1]
    redis.call('XTRIM', log.key, 'MAXLEN', log.max)
  end
  local clock = redis.call('TIME')
  local oldest = (tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) - log.age) .. '-0'
  -- The first entry first: XREVRANGE from a bound past every entry scans them all.
  if before(redis.call('XRANGE', log.key, '-', '+', 'COUNT', 1)[1][1], oldest) then
    log.dropped = redis.call('XREVRANGE', log.key, '(' .. oldest, '-', 'COUNT', 1)[1][1]
    redis.call('XTRIM', log.key, 'MINID', oldest)
  end
  if log.dropped then redis.call('HSET', log.meta, 'l', log.last, 'f', log.dropped)
  else redis.call('HSET', log.meta, 'l', log.last) end
  redis.call('PEXPIRE', log.meta, log.age + ${LOG_MEMORY})
  redis.call('PEXPIRE', log.key, log.age)
end
`;

/**
 * KEYS: record, index[, log, meta]. ARGV: value, expiresAt, pxat, id, condition ('' | 'absent'
 * | 'version'), version, change ('' for `added` or `updated`)[, log settings]. A write whose
 * condition fails changes nothing and logs nothing.
 */
export const SET: string = `${MATCHES}${LOG}
log_open(3, 8)
local existed = (ARGV[5] == 'absent' or (log and ARGV[7] == '')) and redis.call('EXISTS', KEYS[1]) == 1
if ARGV[5] == 'absent' and existed then return 0 end
if ARGV[5] == 'version' and not matches(KEYS[1], ARGV[6]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if log then
  local change = ARGV[7]
  if change == '' then change = (existed or ARGV[5] == 'version') and 'updated' or 'added' end
  log_add(change, ARGV[4], ARGV[1])
  log_close()
end
return 1`;

/**
 * KEYS: record, index[, log, meta]. ARGV: id, version (or ''), change (''
 * for `removed`)[, log settings]. An id whose record Redis has expired is logged `expired`.
 */
export const DELETE: string = `${MATCHES}${LOG}
log_open(3, 4)
if ARGV[2] ~= '' and not matches(KEYS[1], ARGV[2]) then return 0 end
local indexed = redis.call('ZREM', KEYS[2], ARGV[1])
local deleted = redis.call('UNLINK', KEYS[1])
if deleted == 1 then log_add(ARGV[3] ~= '' and ARGV[3] or 'removed', ARGV[1], false)
elseif indexed == 1 then log_add('expired', ARGV[1], false) end
log_close()
return deleted`;

/**
 * KEYS: index[, log, meta]. ARGV: record key prefix, highest expiresAt, offset, count, collect
 * ('1' | ''), change (what the log says of a record deleted)[, log settings]. Deletes a batch of the records in the index up to that expiry, of this format only (others
 * stay, counted in `kept`, so the caller skips them next time); drops index entries whose record
 * Redis has already expired. Returns { entries seen, kept, deleted values, the lowest expiresAt
 * left in the index ('' when it is empty) }. Ids whose record Redis expired are logged `expired`.
 */
export const SWEEP: string = `${LOG}
log_open(2, 7)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local kept, deleted = 0, {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local value = redis.call('GET', key)
  if not value then
    redis.call('ZREM', KEYS[1], id)
    log_add('expired', id, false)
  elseif string.sub(value, 1, ${MARKER.length}) == '${MARKER}' then
    redis.call('UNLINK', key)
    redis.call('ZREM', KEYS[1], id)
    if ARGV[5] == '1' then deleted[#deleted + 1] = value end
    log_add(ARGV[6], id, false)
  else
    kept = kept + 1
  end
end
log_close()
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #ids, kept, deleted, first[2] or '' }`;

/**
 * KEYS: index[, log, meta]. ARGV: record key prefix, log settings (four, '' without a log),
 * ids… Drops the ids whose record Redis has expired (logged `expired`).
 */
export const PRUNE: string = `${LOG}
log_open(2, 2)
for i = 6, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 and redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    log_add('expired', ARGV[i], false)
  end
end
log_close()
return 0`;

/**
 * KEYS: log, meta. ARGV: cursor (a stream id, '' for the head), limit, maxAge. Answers
 * `{ 'head', id }` (no entries after the cursor; the head of an empty log is the last id before
 * now, so that every entry appended later comes after it), `{ 'resync', head }` (the log dropped
 * an entry after the cursor, or the cursor is from the future, or older than what the log
 * remembers), or `{ 'entries', entries, more }`. An entry older than maxAge counts as dropped
 * even while the stream still holds it (streams are trimmed on writes only).
 */
export const CHANGES: string = `${NOW}${BEFORE}
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local head = last and last[1] or ((now - 1) .. '-18446744073709551615')
local cursor = ARGV[1]
if cursor == '' then return { 'head', head } end
local age = tonumber(ARGV[3])
local ms = tonumber(string.match(cursor, '^(%d+)'))
if ms > now and (not last or before(last[1], cursor)) then return { 'resync', head } end
local meta = redis.call('HMGET', KEYS[2], 'f', 'l')
if not meta[2] and ms < now - age - ${LOG_MEMORY} then return { 'resync', head } end
local floor = meta[2] or nil
if last then
  floor = meta[1] or nil
  local oldest = (now - age) .. '-0'
  if before(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1], oldest) then
    local old = redis.call('XREVRANGE', KEYS[1], '(' .. oldest, '-', 'COUNT', 1)[1][1]
    if not floor or before(floor, old) then floor = old end
  end
end
if floor and before(cursor, floor) then return { 'resync', head } end
if not last then
  if before(head, cursor) then head = cursor end
  return { 'head', head }
end
local limit = tonumber(ARGV[2])
local entries = redis.call('XRANGE', KEYS[1], '(' .. cursor, '+', 'COUNT', limit + 1)
if #entries == 0 then return { 'head', cursor } end
local more = #entries > limit
if more then entries[#entries] = nil end
return { 'entries', entries, more and 1 or 0 }`;

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
