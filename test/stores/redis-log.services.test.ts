// The Redis store's change logs against a real server: the change-log conformance suite, then
// what only Redis has to get right (two connections as two processes, names that look like key
// syntax, the subscriber connection lost and back, the bounds, the keys a log uses).
import { Redis } from "ioredis";
import { afterAll, describe } from "vitest";
import { type RedisStoreOptions, redisStore } from "../../src/stores/redis.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { requireService, runId, services } from "../helpers/services.ts";
import { testChangeLog } from "./change-log.ts";

const up = await requireService("redis");
const { host, port } = services.redis;
const prefix = `smtest-${runId()}`;
const raw = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
raw.on("error", () => {});

const opened: SessionStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close?.();
  if (up) {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await raw.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  raw.disconnect();
});

describe.skipIf(!up)("redis change log", () => {
  const create = (namespace: string, changeLog?: RedisStoreOptions["changeLog"]) =>
    redisStore({ host, port, prefix, namespace, ...(changeLog && { changeLog }) });
  testChangeLog({ name: "redis", create, twin: create });
});
