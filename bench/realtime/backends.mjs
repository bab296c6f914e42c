// Where the realtime bench keeps its sessions: Redis (a namespace of its own per run), PostgreSQL
// (a table of its own per run, and the change-log tables named after it) or memory (one process),
// and how it removes what a run left there.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const env = process.env;
const DEFAULT_URLS = {
  redis: env.REDIS_URL ?? "redis://127.0.0.1:6379",
  postgres: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
};
const PREFIX = "sessionmanager";

/**
 * serve's options for `backend` (`serve`), the service to check first (`service`), and what
 * `cleanUp` needs. `run` names this run's namespace (and PostgreSQL table).
 */
export function serverOptions(backend, url, run, secret) {
  const auth = { secret };
  if (backend === "memory") return { backend, serve: { backend, auth } };
  if (backend !== "redis" && backend !== "postgres") {
    throw new Error(`--backend redis|postgres|memory, got ${backend}`);
  }
  const address = url ?? DEFAULT_URLS[backend];
  const { hostname, port } = new URL(address);
  const service = { host: hostname, port: Number(port || (backend === "redis" ? 6379 : 5432)) };
  const serve = { backend, url: address, namespace: run, auth };
  if (backend === "postgres") serve.table = `${run}_sessions`;
  return { backend, serve, service };
}

/** Deletes what the run wrote: the namespace's Redis keys, or the run's PostgreSQL tables. */
export async function cleanUp({ backend, serve }) {
  if (backend === "redis") await cleanRedis(serve.url, serve.namespace);
  if (backend === "postgres") await cleanPostgres(serve.url, serve.table);
}

async function cleanRedis(url, namespace) {
  const Redis = require("ioredis");
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(
        cursor,
        "MATCH",
        `${PREFIX}:{${namespace}*`,
        "COUNT",
        1000,
      );
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

async function cleanPostgres(url, table) {
  const { Client } = require("pg");
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of [`${table}_changes`, `${table}_changes_floor`, table]) {
      await client.query(`DROP TABLE IF EXISTS "${name}"`);
    }
  } finally {
    await client.end();
  }
}
