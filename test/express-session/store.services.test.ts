// The Store contract on the backends that need a service (skipped, visibly, when it is not
// there, unless REQUIRE_SERVICES=1).
import { describe } from "vitest";
import { requireServices, services } from "../helpers/services.ts";
import { storeContract } from "./contract.ts";

const up = await requireServices();

describe.skipIf(!up.postgres)("postgres", () => {
  storeContract("postgres", () => ({ backend: "postgres", url: services.postgres.url }));
});

describe.skipIf(!up.redis)("redis", () => {
  storeContract("redis", () => ({
    backend: "redis",
    url: `redis://${services.redis.host}:${services.redis.port}`,
  }));
});

describe.skipIf(!up.memcached)("memcached", () => {
  storeContract("memcached", () => ({
    backend: "memcached",
    host: services.memcached.host,
    port: services.memcached.port,
  }));
});
