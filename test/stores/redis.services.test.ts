// The Redis store against a real server: the conformance suite, then what only Redis has to get
// right (native expiry and its index, namespaces sharing one keyspace, Lua-atomic conditional
// writes from two connections, the script cache being flushed, an outage). Keys of one run share
// a prefix, deleted at the end.

import { Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { type RedisStoreOptions, redisStore } from "../../src/stores/redis.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
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
/**
 * Runs `action` and resolves to the key arguments (those under this run's prefix) of every
 * command that Redis saw meanwhile whose arguments mention `namespace`, through MONITOR.
 */
async function keysTouched(namespace: string, action: () => Promise<unknown>): Promise<string[]> {
  const monitor = await new Redis({ host, port }).monitor();
  const seen: string[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (args.some((arg) => arg.includes(namespace))) {
      seen.push(...args.slice(1).filter((arg) => arg.startsWith(prefix)));
    }
  });
  await sleep(50);
  await action();
  await sleep(150);
  monitor.disconnect();
  return seen;
}
/** The key of a record of the namespace's root (a manager's), and of the root's index. */
const keyOf = (namespace: string, id: string) => `${prefix}:{${namespace}}:s:${id}`;
const indexOf = (namespace: string) => `${prefix}:{${namespace}}:i`;

describe.skipIf(!up)("redis", () => {
  // Each store of the suite, and its twin, on a connection of its own.
  const create = (namespace: string) => redisStore({ host, port, prefix, namespace });
  testStore({ name: "redis", create, twin: create });

  it("gives each key a native TTL: expiresAt plus the grace", async () => {
    const store = await open({ grace: 5000 });
    const expiresAt = Date.now() + 10_000;
    await store.set(rec("a", { expiresAt }));
    const pttl = await raw.pttl(keyOf(`n${sequence}`, "a"));
    expect(pttl).toBeGreaterThan(13_000);
    expect(pttl).toBeLessThanOrEqual(expiresAt + 5000 - Date.now() + 5);
  });

  it("lets Redis expire records by itself, and drops them from the index", async () => {
    const store = await open({ grace: 0 });
    const ns = `n${sequence}`;
    await store.set(rec("short", { expiresAt: Date.now() + 150 }));
    await store.set(rec("long"));
    expect(await raw.zcard(indexOf(ns))).toBe(2);
    await sleep(400);
    expect(await raw.exists(keyOf(ns, "short"))).toBe(0);
    expect(await store.get("short")).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(["long"]);
    expect(await raw.zrange(indexOf(ns), 0, -1)).toEqual(["long"]);
  });

  it("purges by its index before Redis expires anything", async () => {
    const store = await open();
    const now = Date.now();
    await store.set(rec("due", { expiresAt: now - 10 }));
    await store.set(rec("later", { expiresAt: now + 60_000 }));
    expect(await raw.exists(keyOf(`n${sequence}`, "due"))).toBe(1);
    expect((await store.purgeExpired(now)).map((r) => r.id)).toEqual(["due"]);
    expect(await raw.exists(keyOf(`n${sequence}`, "due"))).toBe(0);
  });

  it("clears its namespace only: not another one, not a glob look-alike, not other keys", async () => {
    const star = await open({ namespace: "a*" });
    const ab = await open({ namespace: "ab" });
    const other = await open({ namespace: "a" });
    for (const store of [star, ab, other]) await store.set(rec("x"));
    await raw.set(`${prefix}:unrelated`, "keep");
    await raw.set(`${prefix}:{a*}:not-a-session`, "keep");
    await star.clear();
    expect(await star.list()).toEqual([]);
    expect((await ab.get("x"))?.id).toBe("x");
    expect((await other.get("x"))?.id).toBe("x");
    expect(await raw.get(`${prefix}:unrelated`)).toBe("keep");
    expect(await raw.get(`${prefix}:{a*}:not-a-session`)).toBe("keep");
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
    expect(await raw.zcard(indexOf(`n${sequence}`))).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  it("skips a value of another format with a report, and never deletes or overwrites it", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const future = JSON.stringify({ v: 99, id: "future", version: 1 });
    await raw.set(keyOf(ns, "future"), future);
    await raw.zadd(indexOf(ns), 0, "future");
    await expectFutureRecordKept(store, reported);
    expect(await raw.get(keyOf(ns, "future"))).toBe(future);
    await raw.unlink(keyOf(ns, "future"));
  });

  it("loads its scripts again after SCRIPT FLUSH (or a restart)", async () => {
    const store = await open();
    await store.set(rec("a"), { ifAbsent: true });
    await raw.script("FLUSH");
    expect(await store.set(rec("a", { version: 2 }), { ifVersion: 1 })).toBe(true);
    expect(await store.delete("a", { ifVersion: 2 })).toBe(true);
  });

  it("sends the commands of one turn in one socket write, not one write each", async () => {
    const store = await open();
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
    await Promise.all(ids.map((id) => store.set(rec(id))));
    // Every write to Redis's port meanwhile (this file's other connections are idle).
    const write = vi.spyOn(Socket.prototype, "write");
    try {
      const found = await Promise.all(ids.map((id) => store.get(id)));
      expect(found.map((record) => record?.id)).toEqual(ids);
      const toRedis = write.mock.contexts.filter(
        (socket) => (socket as Socket).remotePort === port,
      );
      expect(toRedis.length).toBeGreaterThan(0);
      expect(toRedis.length).toBeLessThanOrEqual(2);
    } finally {
      write.mockRestore();
    }
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
    expect(await raw.exists(keyOf("grace", "brief"))).toBe(0); // and the sweep deleted it
    await sm.close();
  });

  it("fails a manager's calls with BackendError while Redis is down", async () => {
    const outage = await proxy(host, port);
    const backend = redisStore({ port: outage.port, prefix, namespace: "down", timeout: 2000 });
    await expectManagerOutage(new SessionManager({ backend }), outage);
  });
  it("keeps namespaces that extend each other with ':' apart: shop and shop:eu, X and X:x", async () => {
    const shop = await open({ namespace: "shop" });
    const eu = await open({ namespace: "shop:eu" });
    await eu.set(rec("alice", { data: "eu" }));
    expect(await shop.get("eu:alice")).toBeUndefined();
    expect(await shop.list()).toEqual([]);
    await shop.set(rec("eu:alice", { data: "shop" }));
    expect((await eu.get("alice"))?.data).toBe("eu");
    expect((await shop.list()).map((r) => [r.id, r.data])).toEqual([["eu:alice", "shop"]]);
    expect((await eu.list()).map((r) => [r.id, r.data])).toEqual([["alice", "eu"]]);
    // Nor does an owner "eu" of shop reach the namespace shop:eu.
    await partitionOf(shop, "eu").set(rec("alice", { data: "owner eu" }));
    expect((await eu.get("alice"))?.data).toBe("eu");
    await shop.clear();
    expect((await eu.get("alice"))?.data).toBe("eu");
    expect((await eu.list()).map((r) => r.id)).toEqual(["alice"]);
    // Once, X's record "x" was X:x's index key: WRONGTYPE on every call of X for it.
    const make = (namespace: string) =>
      new SessionManager({ backend: redisStore({ host, port, prefix, namespace }) });
    const xx = make("X:x");
    const x = make("X");
    await xx.add("a", { ttl: "1m" });
    await x.add("x", { ttl: "1m" });
    expect((await x.get("x"))?.id).toBe("x");
    expect((await xx.list()).map((s) => s.id)).toEqual(["a"]);
    expect((await x.list()).map((s) => s.id)).toEqual(["x"]);
    for (const sm of [x, xx]) {
      await sm.clear();
      await sm.close();
    }
  });

  it("keeps namespaces with braces and percent signs apart, and their keys on a tag of their own", async () => {
    const names = ["a%3Ab", "a:b", "{a}", "%7Ba%7D", "a}", "a{"];
    const stores = await Promise.all(names.map((namespace) => open({ namespace })));
    for (const [i, store] of stores.entries()) await store.set(rec("id", { data: names[i] }));
    for (const [i, store] of stores.entries()) {
      expect((await store.list()).map((r) => r.data)).toEqual([names[i]]);
    }
    expect(await raw.exists(`${prefix}:{a%3Ab}:s:id`, `${prefix}:{%7Ba%7D}:s:id`)).toBe(2);
    expect(await raw.exists(`${prefix}:{a%253Ab}:s:id`, `${prefix}:{%257Ba%257D}:s:id`)).toBe(2);
  });

  it("lists an owner from its own keys only, under a hash tag of its own", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const alice = partitionOf(store, "alice");
    const bob = partitionOf(store, "bob");
    await Promise.all(Array.from({ length: 300 }, (_, i) => alice.set(rec(`a${i}`))));
    await bob.set(rec("only"));
    expect(await raw.zcard(`${prefix}:{${ns}:alice}:i`)).toBe(300);
    expect(await raw.exists(`${prefix}:{${ns}:bob}:s:only`)).toBe(1);
    let listed: string[] = [];
    const touched = await keysTouched(ns, async () => {
      listed = (await bob.list({ limit: 1000 })).records.map((r) => r.id);
    });
    expect(listed).toEqual(["only"]);
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((key) => !key.startsWith(`${prefix}:{${ns}:bob}:`))).toEqual([]);
  });

  it("clears and purges every owner from the root, visiting only owners with something due", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const now = Date.now();
    await partitionOf(store, "alice").set(rec("due", { expiresAt: now - 10 }));
    await partitionOf(store, "alice").set(rec("kept"));
    await partitionOf(store, "bob").set(rec("later", { expiresAt: now + 3_600_000 }));
    let purged: string[] = [];
    const touched = await keysTouched(ns, async () => {
      purged = (await store.purgeExpired(now)).map((r) => r.id);
    });
    expect(purged).toEqual(["alice/due"]);
    expect(touched.some((key) => key.includes(`{${ns}:alice}`))).toBe(true);
    expect(touched.some((key) => key.includes(`{${ns}:bob}`))).toBe(false);
    expect(
      (await partitionOf(store, "alice").list({ limit: 10 })).records.map((r) => r.id),
    ).toEqual(["kept"]);
    await store.clear();
    for (const owner of ["alice", "bob"]) {
      expect((await partitionOf(store, owner).list({ limit: 10 })).records).toEqual([]);
    }
    expect(await raw.zcard(`${prefix}:{${ns}:bob}:i`)).toBe(0);
  });

  it("lists every one of 1,000 writes at once over three connections, by many owners", async () => {
    const namespace = `n${++sequence}`;
    const stores = await Promise.all([0, 1, 2].map(() => open({ namespace })));
    const owners = ["alice", "bob", "carol:x", "d{e}"];
    const writes = Array.from({ length: 1000 }, (_, i) => ({
      store: stores[i % 3] as SessionStore,
      owner: owners[i % 4] as string,
      id: `s${i}`,
    }));
    const done = await Promise.all(
      writes.map(({ store, owner, id }) =>
        partitionOf(store, owner).set(rec(id), { ifAbsent: true }),
      ),
    );
    expect(done.every(Boolean)).toBe(true);
    for (const owner of owners) {
      const expected = writes.filter((w) => w.owner === owner).map((w) => w.id);
      const { records } = await partitionOf(stores[1] as SessionStore, owner).list({ limit: 1000 });
      expect(records.map((r) => r.id).sort()).toEqual(expected.sort());
    }
  });
});
