// The Memcached store: what it sends on the wire (exptime, keys) against a recording client, then
// against a real server the conformance suite and what only Memcached has to get right (the
// 30-day exptime rule, keys for any id, the CAS index under concurrent writers, clear without a
// flush, an outage). Keys of one run share a prefix; each test clears its namespaces.
import memjs from "memjs";
import { afterAll, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { type MemcachedStoreOptions, memcachedStore } from "../../src/stores/memcached/index.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { expectStoreOutage } from "../helpers/outage.ts";
import { rec } from "../helpers/records.ts";
import { eventually, proxy, requireService, runId, services } from "../helpers/services.ts";
import { expectFutureRecordKept } from "../helpers/unreadable.ts";
import { testStore } from "./conformance.ts";

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
});
