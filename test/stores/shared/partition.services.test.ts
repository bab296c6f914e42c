// Paged lists and partitions on the stores of a service: Redis, PostgreSQL, Memcached.
import { describe } from "vitest";
import { memcachedStore } from "../../../src/stores/memcached/index.ts";
import { postgresStore } from "../../../src/stores/postgres.ts";
import { redisStore } from "../../../src/stores/redis.ts";
import { requireServices, runId, services } from "../../helpers/services.ts";
import { testPartitions } from "./partition-contract.ts";

const up = await requireServices();
const run = runId();
const prefix = `smtest-${run}`;
const counts = { counts: true };

describe.skipIf(!up.redis)("redis", () => {
  const { host, port } = services.redis;
  testPartitions("redis", (namespace) => redisStore({ host, port, prefix, namespace }), counts);
});

describe.skipIf(!up.postgres)("postgres", () => {
  const { url } = services.postgres;
  // The suite's own table would outlive the run: the shared default table, namespaced per run.
  testPartitions(
    "postgres",
    (namespace) => postgresStore({ url, namespace: `${run}:${namespace}` }),
    counts,
  );
});

describe.skipIf(!up.memcached)("memcached", () => {
  const { host, port } = services.memcached;
  testPartitions(
    "memcached",
    (namespace) => memcachedStore({ url: `${host}:${port}`, prefix, namespace }),
    counts,
  );
});
