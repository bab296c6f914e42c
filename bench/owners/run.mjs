// What another owner's sessions cost one owner (issue 11, finding 3): a one-session owner's
// `changes` work (the server's `OwnerSessions.changes` reads the owner's partition, a page of
// 1,000 at a time) in a namespace that holds nothing else, and in one where other owners hold
// many sessions, side by side in one run, on Redis, PostgreSQL and Memcached. Target: the crowded
// call ≤ 1.2× the empty one.
//
// Run: `npm run build && node bench/owners/run.mjs` (services at the addresses of
// test/helpers/services.ts, or REDIS_HOST / POSTGRES_* / MEMCACHED_* / DATABASE_URL). Measure the
// old code with SESSIONMANAGER_DIST=<a build of it>. OTHERS=<n> sets the other owners' sessions on
// Redis and PostgreSQL (default 100,000), MEMCACHED_OTHERS on Memcached (default 10,000);
// BACKENDS=redis,postgres picks backends.
// Each run writes to namespaces of its own and clears them at the end.
import { fromDist } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { now } from "../lib/util.mjs";

const env = process.env;
const OTHERS = Number(env.OTHERS ?? 100_000);
const MEMCACHED_OTHERS = Number(env.MEMCACHED_OTHERS ?? 10_000);
/** Sessions per other owner: many owners, as on a real server. */
const PER_OWNER = 100;
const RUNS = Number(env.RUNS ?? 400);
const PAGE = 1000;
const run = `bench-owners-${process.pid}-${Date.now().toString(36)}`;

const redis = { host: env.REDIS_HOST ?? "127.0.0.1", port: Number(env.REDIS_PORT ?? 6379) };
const pgHost = env.POSTGRES_HOST ?? "127.0.0.1";
const pgUrl =
  env.DATABASE_URL ??
  `postgres://${env.POSTGRES_USER ?? "postgres"}@${pgHost}:${env.POSTGRES_PORT ?? 5432}/${env.POSTGRES_DB ?? "test"}`;
const memcached = `${env.MEMCACHED_HOST ?? "127.0.0.1"}:${env.MEMCACHED_PORT ?? 11211}`;

const backends = [
  {
    name: "redis",
    others: OTHERS,
    writers: 64,
    make: async (namespace) =>
      (await fromDist("stores/redis.js")).redisStore({ ...redis, prefix: run, namespace }),
  },
  {
    name: "postgres",
    others: OTHERS,
    writers: 16,
    make: async (namespace) =>
      (await fromDist("stores/postgres.js")).postgresStore({
        url: pgUrl,
        namespace: `${run}:${namespace}`,
      }),
  },
  {
    name: "memcached",
    others: MEMCACHED_OTHERS,
    // The old single index is one CAS item: more writers only fight over it.
    writers: 4,
    make: async (namespace) =>
      (await fromDist("stores/memcached.js")).memcachedStore({
        url: memcached,
        prefix: run,
        namespace,
      }),
  },
];

/**
 * The owner's records as the server reads them: `partitionOf(store, owner)` (src/stores/shared/
 * partition.ts, not exported): the store's own partition, or its records under
 * `encodeURIComponent(owner) + "/"` read with `listPage` (then `listPrefix`, then `list`).
 */
function partition(store, owner) {
  if (store.partition) return store.partition(owner);
  const prefix = `${encodeURIComponent(owner)}/`;
  const strip = (r) => ({ ...r, id: r.id.slice(prefix.length) });
  return {
    set: (record, condition) => store.set({ ...record, id: prefix + record.id }, condition),
    async list(request) {
      if (store.listPage) {
        const page = await store.listPage({ ...request, prefix });
        return { ...page, records: page.records.filter((r) => r.id.startsWith(prefix)).map(strip) };
      }
      const all = store.listPrefix ? await store.listPrefix(prefix) : await store.list();
      return { records: all.filter((r) => r.id.startsWith(prefix)).map(strip) };
    },
  };
}

function record(id) {
  const at = Date.now();
  const expiresAt = at + 3_600_000;
  return {
    id,
    data: { user: id },
    createdAt: at,
    updatedAt: at,
    expiresAt,
    ttl: 3_600_000,
    version: 1,
  };
}

/** What `OwnerSessions.changes` reads: every page of the owner's records. */
async function changes(store, owner) {
  const p = partition(store, owner);
  let cursor;
  let count = 0;
  do {
    const page = await p.list({ cursor, limit: PAGE });
    count += page.records.length;
    cursor = page.next;
  } while (cursor !== undefined);
  return count;
}

/** Writes `total` sessions of other owners, `PER_OWNER` each, `writers` at a time. */
async function crowd(store, total, writers) {
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < total; i = next++) {
      const owner = `user-${Math.floor(i / PER_OWNER)}@example.com`;
      await partition(store, owner).set(record(`session-${i}-${"x".repeat(24)}`));
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

/**
 * Median and p95 (ms) of `RUNS` calls of each of `a` and `b`, after a warm-up, the two called in
 * turns (a, b, b, a, …) so that load on the machine hits both alike.
 */
async function measure(a, b) {
  for (let i = 0; i < 20; i++) await Promise.all([a(), b()]);
  const times = [[], []];
  const time = async (fn, into) => {
    const start = now();
    await fn();
    into.push(now() - start);
  };
  for (let i = 0; i < RUNS; i++) {
    if (i % 2) {
      await time(a, times[0]);
      await time(b, times[1]);
    } else {
      await time(b, times[1]);
      await time(a, times[0]);
    }
  }
  return times.map((list) => {
    list.sort((x, y) => x - y);
    return { median: list[Math.floor(RUNS / 2)], p95: list[Math.floor(RUNS * 0.95)] };
  });
}

const only = env.BACKENDS?.split(",");
const rows = [];
for (const backend of backends.filter((b) => !only || only.includes(b.name))) {
  const empty = await backend.make("empty");
  const crowded = await backend.make("crowded");
  try {
    for (const store of [empty, crowded]) {
      await store.open?.({ report: (error) => console.warn(`${backend.name}: ${error.message}`) });
      await partition(store, "solo@example.com").set(record("only"));
    }
    const started = now();
    await crowd(crowded, backend.others, backend.writers);
    const filled = (now() - started) / 1000;
    const [alone, beside] = await measure(
      () => changes(empty, "solo@example.com"),
      () => changes(crowded, "solo@example.com"),
    );
    const base = alone.median;
    const loaded = beside.median;
    const found = await changes(crowded, "solo@example.com");
    if (found !== 1) throw new Error(`${backend.name}: the owner's list held ${found} records`);
    rows.push([
      backend.name,
      backend.others.toLocaleString("en-US"),
      `${base.toFixed(3)} ms`,
      `${loaded.toFixed(3)} ms`,
      `${beside.p95.toFixed(3)} ms`,
      `${(loaded / base).toFixed(2)}×`,
      `${filled.toFixed(1)} s`,
    ]);
  } catch (error) {
    rows.push([
      backend.name,
      "failed",
      String(error?.message ?? error).slice(0, 60),
      "",
      "",
      "",
      "",
    ]);
  } finally {
    for (const store of [empty, crowded]) {
      await Promise.resolve(store.clear()).catch(() => {});
      await store.close?.();
    }
    if (backend.name === "redis") await unlinkRun().catch(() => {});
  }
}

/**
 * Deletes what `clear` leaves of this run on Redis: the registry of owners keeps the owners that
 * wrote in the last minutes (so that a write landing meanwhile is not lost to a sweep).
 */
async function unlinkRun() {
  const { Redis } = await import("ioredis");
  const raw = new Redis(redis);
  let cursor = "0";
  do {
    const [next, keys] = await raw.scan(cursor, "MATCH", `${run}:*`, "COUNT", 1000);
    if (keys.length > 0) await raw.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
  raw.disconnect();
}

console.log(
  table(
    `one owner's changes (1 session) beside other owners' sessions: ${env.SESSIONMANAGER_DIST ?? "dist/"}`,
    [
      "backend",
      "other sessions",
      "alone (median)",
      "crowded (median)",
      "crowded p95",
      "ratio",
      "fill",
    ],
    rows,
    [
      `${RUNS} calls each, after 20 warm-up calls, alone and crowded in turns`,
      `other owners hold ${PER_OWNER} sessions each; target: ratio ≤ 1.2×`,
    ],
  ),
);
