// The Memcached store: what it sends on the wire (exptime, keys) against a recording client, then
// against a real server the conformance suite and what only Memcached has to get right (the
// 30-day exptime rule, keys for any id, the CAS index under concurrent writers, clear without a
// flush, an outage). Keys of one run share a prefix; each test clears its namespaces.
import memjs from "memjs";
import { afterAll, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { type MemcachedStoreOptions, memcachedStore } from "../../src/stores/memcached/index.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { expectStoreOutage } from "../helpers/outage.ts";
import { rec } from "../helpers/records.ts";
import { eventually, proxy, requireService, runId, services } from "../helpers/services.ts";
import { expectFutureRecordKept } from "../helpers/unreadable.ts";
import { testStore } from "./conformance.ts";
import { walk } from "./shared/partition-contract.ts";

const DAY = 86_400_000;

/** A memjs client that records each request and answers GET with "not found", others with OK. */
function recordingClient() {
  const requests: { opcode: number; key: string; exptime?: number }[] = [];
  const client = {
    seq: 0,
    incrSeq() {
      this.seq++;
    },
    perform(_key: string, request: Buffer, _seq: number, callback: (e: null, r: unknown) => void) {
      const opcode = request.readUInt8(1);
      const keyLength = request.readUInt16BE(2);
      const extrasLength = request.readUInt8(4);
      const key = request.subarray(24 + extrasLength, 24 + extrasLength + keyLength).toString();
      const exptime = extrasLength === 8 ? request.readUInt32BE(28) : undefined;
      requests.push({ opcode, key, ...(exptime === undefined ? {} : { exptime }) });
      const header = { status: opcode === 0 ? 1 : 0, cas: Buffer.alloc(8) };
      callback(null, {
        header,
        key: Buffer.alloc(0),
        extras: Buffer.alloc(0),
        val: Buffer.alloc(0),
      });
    },
    quit() {},
  };
  return { client: client as unknown as memjs.Client, requests };
}

describe("memcached store, on the wire", () => {
  const exptimeOf = async (expiresAt: number, grace = 0) => {
    const { client, requests } = recordingClient();
    const store = memcachedStore({ client, grace });
    const before = Date.now();
    await store.set(rec("a", { expiresAt }));
    const sent = requests.find((r) => r.opcode === 1)?.exptime as number;
    return { sent, before, after: Date.now() };
  };

  it("sends lifetimes up to 30 days as seconds from now, rounded up, plus one", async () => {
    const { sent } = await exptimeOf(Date.now() + 1500);
    expect(sent).toBe(3);
    expect((await exptimeOf(Date.now() + 10_000, 60_000)).sent).toBe(71);
    expect((await exptimeOf(Date.now() + 30 * DAY - 5000)).sent).toBeLessThanOrEqual(2_592_000);
  });

  it("sends lifetimes over 30 days as a unix time, rounded up", async () => {
    const expiresAt = Date.now() + 31 * DAY + 400;
    const { sent } = await exptimeOf(expiresAt);
    expect(sent).toBe(Math.ceil(expiresAt / 1000) + 1);
    expect(sent).toBeGreaterThan(2_592_000);
  });

  it("never sends 0 (which means forever) for a past expiry, and 0 past 32 bits", async () => {
    expect((await exptimeOf(Date.now() - DAY)).sent).toBe(1);
    expect((await exptimeOf(864e13)).sent).toBe(0);
  });

  it("makes short printable keys of any id, namespace and prefix", async () => {
    const { client, requests } = recordingClient();
    const awkward = ["a b", "x".repeat(256), "ü🎉\u0000\n", "a/b\\c"];
    for (const namespace of ["myapp", "my app: ü", "n".repeat(300)]) {
      const store = memcachedStore({ client, namespace, prefix: "p" });
      for (const id of awkward) await store.get(id);
    }
    const keys = new Set(requests.map((r) => r.key));
    expect(keys.size).toBe(12);
    for (const key of keys) {
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(250);
      expect(key).toMatch(/^[!-~]+$/);
    }
    expect([...keys][0]).toMatch(/^p:myapp:[\w-]{43}$/);
  });

  it("throws nothing in the factory", () => {
    expect(() => memcachedStore({ url: "not a server" })).not.toThrow();
  });
});

const up = await requireService("memcached");
const { host, port } = services.memcached;
const prefix = `smtest-${runId()}`;
const servers = `${host}:${port}`;
const raw = memjs.Client.create(servers, { logger: { log() {} } });

const reported: Error[] = [];
const opened: SessionStore[] = [];
let sequence = 0;
async function open(options: MemcachedStoreOptions = {}): Promise<SessionStore> {
  const store = memcachedStore({ url: servers, prefix, namespace: `n${++sequence}`, ...options });
  opened.push(store);
  await store.open?.({ report: (error) => reported.push(error) });
  return store;
}
afterAll(async () => {
  for (const store of opened) {
    await Promise.resolve(store.clear()).catch(() => {});
    await store.close?.();
  }
  raw.quit();
});

describe.skipIf(!up)("memcached", () => {
  // Each store of the suite, and its twin, on a connection of its own.
  const create = (namespace: string) => memcachedStore({ url: servers, prefix, namespace });
  testStore({ name: "memcached", create, twin: create });

  it("keeps a record that lives longer than 30 days (sent as a unix time)", async () => {
    const store = await open({ grace: 0 });
    await store.set(rec("long", { expiresAt: Date.now() + 45 * DAY }));
    await store.set(rec("month", { expiresAt: Date.now() + 30 * DAY - 10_000 }));
    expect((await store.get("long"))?.id).toBe("long");
    expect((await store.get("month"))?.id).toBe("month");
  });

  it("lets Memcached expire records by itself, and drops them from the index", async () => {
    const store = await open({ grace: 0 });
    await store.set(rec("short", { expiresAt: Date.now() + 100 }));
    await store.set(rec("long"));
    await new Promise((resolve) => setTimeout(resolve, 2600));
    expect(await store.get("short")).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(["long"]);
  }, 10_000);

  it("drops index entries whose record vanished (evicted), and lists the rest", async () => {
    const { client, requests } = recordingClient();
    await memcachedStore({ client, prefix, namespace: `n${sequence + 1}` }).get("victim");
    const victimKey = requests[0]?.key as string;
    const store = await open();
    await store.set(rec("victim"));
    await store.set(rec("kept"));
    await raw.delete(victimKey);
    expect((await store.list()).map((r) => r.id)).toEqual(["kept"]);
    expect(await store.purgeExpired(Date.now() + 120_000)).toHaveLength(1);
    expect(await store.list()).toEqual([]);
  });

  it("clears its namespace without flushing: other namespaces and keys stay", async () => {
    const a = await open();
    const b = await open();
    await a.set(rec("x"));
    await b.set(rec("x"));
    await raw.set(`${prefix}:unrelated`, "keep", {});
    await a.clear();
    expect(await a.get("x")).toBeUndefined();
    expect((await b.get("x"))?.id).toBe("x");
    expect((await raw.get(`${prefix}:unrelated`)).value?.toString()).toBe("keep");
    await raw.delete(`${prefix}:unrelated`);
  });

  it("keeps every id in the index when two connections add at once (CAS retries)", async () => {
    const a = await open();
    const b = await open({ namespace: `n${sequence}` });
    const ids = Array.from({ length: 30 }, (_, i) => `id${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? a : b).set(rec(id), { ifAbsent: true })));
    expect((await a.list()).map((r) => r.id).sort()).toEqual([...ids].sort());
    await Promise.all(ids.slice(0, 10).map((id, i) => (i % 2 ? b : a).delete(id)));
    expect(await b.list()).toHaveLength(20);
    expect(reported).toEqual([]);
  });

  it("skips a record of another format with a report, and never deletes it", async () => {
    const { client, requests } = recordingClient();
    await memcachedStore({ client, prefix, namespace: `n${sequence + 1}` }).get("future");
    const key = requests[0]?.key as string;
    const store = await open();
    await store.set(rec("future", { expiresAt: 1 }));
    const future = JSON.stringify({ v: 99, id: "future", version: 1, expiresAt: 1 });
    await raw.set(key, future, {});
    await expectFutureRecordKept(store, reported);
    expect((await raw.get(key)).value?.toString()).toBe(future);
    await raw.delete(key);
  });

  it("rejects within a bounded time while Memcached is away, and works once it is back", async () => {
    const outage = await proxy(host, port);
    const store = await open({ url: `127.0.0.1:${outage.port}`, timeout: 1000 });
    await expectStoreOutage(store, outage, 4000);
  });

  it("serves two SessionManagers that see each other's sessions, and fails with BackendError when down", async () => {
    const outage = await proxy(host, port);
    const namespace = `n${++sequence}`;
    const make = (url: string) =>
      new SessionManager<{ user: string }>({
        backend: memcachedStore({ url, prefix, namespace, timeout: 1000 }),
      });
    const a = make(servers);
    const b = make(`127.0.0.1:${outage.port}`);
    const added = await a.add("u1", { data: { user: "ada" }, ttl: "10m" });
    expect(await b.get("u1")).toEqual(added);
    expect((await b.touch("u1", "20m")).version).toBe(2);
    expect((await a.get("u1"))?.version).toBe(2);
    await outage.stop();
    expect(await b.get("u1").catch((e: unknown) => e)).toBeInstanceOf(BackendError);
    await outage.start();
    expect(await eventually(() => b.remove("u1"))).toBe(true);
    expect(await a.has("u1")).toBe(false);
    await a.close();
    await b.close();
    await outage.stop();
  });
  it("keeps an owner's sessions listed and clearable while another owner fills an index past the item limit", async () => {
    const store = await open();
    const bob = partitionOf(store, "bob");
    await bob.set(rec("b1"));
    await bob.set(rec("b2"));
    // 4,400 ids of 250 characters at once: more than one 1 MB item can list.
    const alice = partitionOf(store, "alice");
    const ids = Array.from({ length: 4400 }, (_, i) => `${i}:${"a".repeat(250)}`.slice(0, 250));
    const results = await Promise.allSettled(
      ids.map((id) => alice.set(rec(id), { ifAbsent: true })),
    );
    const written = ids.filter((_, i) => results[i]?.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThan(3000);
    for (const error of refused) {
      expect(error).toBeInstanceOf(BackendError);
      expect(String(error.message)).toMatch(/item size limit/);
    }
    // The refused writes were undone; every acknowledged one is listed.
    const gone = ids.find((_, i) => results[i]?.status === "rejected") as string;
    expect(await alice.get(gone)).toBeUndefined();
    const listed = (await walk(alice, 1000)).ids;
    expect(listed.sort()).toEqual([...written].sort());
    expect((await bob.list({ limit: 10 })).records.map((r) => r.id).sort()).toEqual(["b1", "b2"]);
    expect((await bob.clear()).map((r) => r.id).sort()).toEqual(["b1", "b2"]);
    expect(await bob.get("b1")).toBeUndefined();
    expect(await alice.clear()).toHaveLength(written.length);
  }, 60_000);

  it("refuses a write its namespace's index cannot list, with BackendError, and changes nothing else", async () => {
    const store = await open({ itemSize: 64 * 1024 });
    const sm = new SessionManager({ backend: store });
    await sm.add("kept", { ttl: "10m" });
    const long = (i: number) => `${i}:${"k".repeat(250)}`.slice(0, 250);
    let error: unknown;
    for (let i = 0; i < 400 && error === undefined; i++) {
      error = await sm.add(long(i), { ttl: "10m" }).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(error).toBeInstanceOf(BackendError);
    const ids = (await sm.list()).map((s) => s.id);
    expect(ids).toContain("kept");
    expect(ids.length).toBeGreaterThan(200);
    expect(await sm.has(long(ids.length - 1))).toBe(false);
    await sm.clear();
    expect(await store.list()).toEqual([]);
    await sm.close();
  });

  it("refuses a record over the item size limit before sending it, and keeps the one it would replace", async () => {
    const store = await open();
    await store.set(rec("s", { data: "small" }));
    const big = store.set(rec("s", { data: "x".repeat(1_100_000), version: 2 }));
    await expect(big).rejects.toBeInstanceOf(BackendError);
    expect((await store.get("s"))?.data).toBe("small");
    expect((await store.list()).map((r) => r.id)).toEqual(["s"]);
  });

  it("lists every one of 1,000 writes at once over three connections, for one owner and the root", async () => {
    const namespace = `n${++sequence}`;
    const stores = await Promise.all([0, 1, 2].map(() => open({ namespace })));
    const ids = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    const done = await Promise.all(
      ids.map((id, i) => {
        const store = stores[i % 3] as SessionStore;
        const target = i % 2 ? partitionOf(store, "alice") : store;
        return target.set(rec(id), { ifAbsent: true });
      }),
    );
    expect(done.every(Boolean)).toBe(true);
    const alice = (await partitionOf(stores[0] as SessionStore, "alice").list({ limit: 1000 }))
      .records;
    expect(alice.map((r) => r.id).sort()).toEqual(ids.filter((_, i) => i % 2).sort());
    const root = await (stores[1] as SessionStore).list();
    expect(root.map((r) => r.id).sort()).toEqual(ids.filter((_, i) => i % 2 === 0).sort());
    expect(reported).toEqual([]);
    // The root's clear reaches every owner (through the registry of owners).
    await (stores[2] as SessionStore).clear();
    expect(
      (await partitionOf(stores[0] as SessionStore, "alice").list({ limit: 10 })).records,
    ).toEqual([]);
    expect(await (stores[0] as SessionStore).list()).toEqual([]);
  }, 30_000);

  it("keeps namespaces that extend each other with ':' apart: shop and shop:eu, X and X:x", async () => {
    for (const [short, long] of [
      ["shop", "shop:eu"],
      ["X", "X:x"],
    ] as const) {
      const a = await open({ namespace: short });
      const b = await open({ namespace: long });
      await b.set(rec("alice", { data: long }));
      await b.set(rec("x", { data: long }));
      expect(await a.get("eu:alice")).toBeUndefined();
      expect(await a.get("x")).toBeUndefined();
      await a.set(rec("x", { data: short }));
      expect((await a.list()).map((r) => [r.id, r.data])).toEqual([["x", short]]);
      expect((await b.list()).map((r) => r.data)).toEqual([long, long]);
      await a.clear();
      expect((await b.list()).map((r) => r.id).sort()).toEqual(["alice", "x"]);
      await b.clear();
    }
  });
});
