// The Redis store against a real server: the conformance suite, then what only Redis has to get
// right (native expiry and its index, namespaces sharing one keyspace, Lua-atomic conditional
// writes from two connections, the script cache being flushed, an outage). Keys of one run share
// a prefix, deleted at the end.
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { type RedisStoreOptions, redisStore } from "../../src/stores/redis.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { expectManagerOutage, expectStoreOutage } from "../helpers/outage.ts";
import { rec } from "../helpers/records.ts";
import { eventually, proxy, requireService, runId, services, timed } from "../helpers/services.ts";
import { expectFutureRecordKept } from "../helpers/unreadable.ts";
import { testStore } from "./conformance.ts";

const up = await requireService("redis");
const { host, port } = services.redis;
const prefix = `smtest-${runId()}`;
const raw = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
raw.on("error", () => {});

const reported: Error[] = [];
const opened: SessionStore[] = [];
let sequence = 0;
async function open(options: RedisStoreOptions = {}): Promise<SessionStore> {
  const store = redisStore({ host, port, prefix, namespace: `n${++sequence}`, ...options });
  opened.push(store);
  await store.open?.({ report: (error) => reported.push(error) });
  return store;
}

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!up)("redis", () => {
  // Each store of the suite, and its twin, on a connection of its own.
  const create = (namespace: string) => redisStore({ host, port, prefix, namespace });
  testStore({ name: "redis", create, twin: create });

  it("gives each key a native TTL: expiresAt plus the grace", async () => {
    const store = await open({ grace: 5000 });
    const expiresAt = Date.now() + 10_000;
    await store.set(rec("a", { expiresAt }));
    const pttl = await raw.pttl(`${prefix}:n${sequence}:a`);
    expect(pttl).toBeGreaterThan(13_000);
    expect(pttl).toBeLessThanOrEqual(expiresAt + 5000 - Date.now() + 5);
  });

  it("lets Redis expire records by itself, and drops them from the index", async () => {
    const store = await open({ grace: 0 });
    const ns = `${prefix}:n${sequence}`;
    await store.set(rec("short", { expiresAt: Date.now() + 150 }));
    await store.set(rec("long"));
    expect(await raw.zcard(ns)).toBe(2);
    await sleep(400);
    expect(await raw.exists(`${ns}:short`)).toBe(0);
    expect(await store.get("short")).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(["long"]);
    expect(await raw.zrange(ns, 0, -1)).toEqual(["long"]);
  });

  it("purges by its index before Redis expires anything", async () => {
    const store = await open();
    const now = Date.now();
    await store.set(rec("due", { expiresAt: now - 10 }));
    await store.set(rec("later", { expiresAt: now + 60_000 }));
    expect(await raw.exists(`${prefix}:n${sequence}:due`)).toBe(1);
    expect((await store.purgeExpired(now)).map((r) => r.id)).toEqual(["due"]);
    expect(await raw.exists(`${prefix}:n${sequence}:due`)).toBe(0);
  });

  it("clears its namespace only: not another one, not a glob look-alike, not other keys", async () => {
    const star = await open({ namespace: "a*" });
    const ab = await open({ namespace: "ab" });
    const other = await open({ namespace: "a" });
    for (const store of [star, ab, other]) await store.set(rec("x"));
    await raw.set(`${prefix}:unrelated`, "keep");
    await raw.set(`${prefix}:a*:not-a-session`, "keep");
    await star.clear();
    expect(await star.list()).toEqual([]);
    expect((await ab.get("x"))?.id).toBe("x");
    expect((await other.get("x"))?.id).toBe("x");
    expect(await raw.get(`${prefix}:unrelated`)).toBe("keep");
    expect(await raw.get(`${prefix}:a*:not-a-session`)).toBe("keep");
  });

  it("clears and purges in batches", async () => {
    const store = await open();
    const now = Date.now();
    const pipeline = Array.from({ length: 1203 }, (_, i) =>
      store.set(rec(`s${i}`, { expiresAt: i % 2 ? now - 1 : now + 60_000 })),
    );
    await Promise.all(pipeline);
    expect(await store.purgeExpired(now)).toHaveLength(601);
    expect(await store.list()).toHaveLength(602);
    await store.clear();
    expect(await raw.zcard(`${prefix}:n${sequence}`)).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  it("skips a value of another format with a report, and never deletes or overwrites it", async () => {
    const store = await open();
    const ns = `${prefix}:n${sequence}`;
    const future = JSON.stringify({ v: 99, id: "future", version: 1 });
    await raw.set(`${ns}:future`, future);
    await raw.zadd(ns, 0, "future");
    await expectFutureRecordKept(store, reported);
    expect(await raw.get(`${ns}:future`)).toBe(future);
    await raw.unlink(`${ns}:future`);
  });

  it("loads its scripts again after SCRIPT FLUSH (or a restart)", async () => {
    const store = await open();
    await store.set(rec("a"), { ifAbsent: true });
    await raw.script("FLUSH");
    expect(await store.set(rec("a", { version: 2 }), { ifVersion: 1 })).toBe(true);
    expect(await store.delete("a", { ifVersion: 2 })).toBe(true);
  });

  it("shares a client it is given and leaves it connected", async () => {
    const client = new Redis({ host, port });
    const store = await open({ client });
    await store.set(rec("shared"));
    await store.close?.();
    expect(await client.ping()).toBe("PONG");
    client.disconnect();
  });

  it("rejects within a bounded time while Redis is away, and works once it is back", async () => {
    const outage = await proxy(host, port);
    await expectStoreOutage(await open({ port: outage.port, timeout: 2000 }), outage, 4000);
  });

  it("rejects at once when nothing listens, without throwing in the factory", async () => {
    const store = redisStore({ host: "127.0.0.1", port: 1, timeout: 2000 });
    const down = await timed(Promise.resolve(store.open?.({ report: () => {} })));
    expect(down.error).toBeInstanceOf(Error);
    expect(down.ms).toBeLessThan(3000);
    expect((await timed(Promise.resolve(store.get("x")))).ms).toBeLessThan(3000);
    await store.close?.();
  });

  it("serves two SessionManagers in one process that see each other's sessions", async () => {
    const namespace = `${prefix}-sm`;
    const make = () =>
      new SessionManager<{ user: string }>({
        backend: redisStore({ host, port, prefix, namespace }),
      });
    const a = make();
    const b = make();
    const added = await a.add("u1", { data: { user: "ada" }, ttl: "10m" });
    expect(await b.get("u1")).toEqual(added);
    await expect(b.add("u1", { data: { user: "eve" } })).rejects.toMatchObject({
      code: "SESSION_EXISTS",
    });
    expect((await b.touch("u1", "20m")).version).toBe(2);
    expect((await a.get("u1"))?.version).toBe(2);
    expect((await a.update("u1", { user: "ada!" })).data).toEqual({ user: "ada!" });
    expect((await b.list()).map((s) => s.data)).toEqual([{ user: "ada!" }]);
    expect(await b.remove("u1")).toBe(true);
    expect(await a.has("u1")).toBe(false);
    await a.close();
    await b.close();
  });

  it("keeps an expired record for the grace, so a manager can still fire expired", async () => {
    const sm = new SessionManager({
      backend: redisStore({ host, port, prefix, namespace: "grace" }),
      warnBefore: 0,
    });
    const expired: string[] = [];
    sm.onExpired((session) => expired.push(session.id));
    await sm.add("brief", { ttl: 200 });
    await eventually(async () => expect(expired).toEqual(["brief"]), 3000);
    expect(await raw.exists(`${prefix}:grace:brief`)).toBe(0); // and the sweep deleted it
    await sm.close();
  });

  it("fails a manager's calls with BackendError while Redis is down", async () => {
    const outage = await proxy(host, port);
    const backend = redisStore({ port: outage.port, prefix, namespace: "down", timeout: 2000 });
    await expectManagerOutage(new SessionManager({ backend }), outage);
  });
});
