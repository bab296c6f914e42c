// The IndexedDB store on fake-indexeddb (a spec-following IndexedDB for Node): the shared contract,
// then what only this store does (batches, sweeps by index) and the failures browsers cause.
// `fake-indexeddb/auto` installs the IDB classes as globals: the store makes key ranges with `IDBKeyRange`.
import "fake-indexeddb/auto";
import { forceCloseDatabase, IDBFactory } from "fake-indexeddb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { indexedDBStore } from "../../src/stores/indexeddb/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import type { SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { testStore } from "./conformance.ts";

// One factory for the whole contract: stores of different namespaces share it, as in a browser,
// and a store's twin (another tab) has a connection of its own to the same database.
const shared = new IDBFactory();
const create = (namespace: string) => indexedDBStore({ namespace, indexedDB: shared });
testStore({ name: "indexedDB (fake-indexeddb)", create, twin: create });

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const DB = "sessionmanager:app";

/** Opens a store as the manager does, collecting what it reports. */
async function opened(factory: IDBFactory, namespace = "app") {
  const reported: Error[] = [];
  const store = indexedDBStore({ namespace, indexedDB: factory });
  await store.open?.({ report: (error) => reported.push(error) });
  return { store, reported };
}

/** A plain connection to the store's database: another tab, or other code on the origin. */
function raw(factory: IDBFactory, version?: number, name = DB): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, version);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains("sessions")) {
        request.result
          .createObjectStore("sessions", { keyPath: "id" })
          .createIndex("expiresAt", "expiresAt");
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function rawPut(factory: IDBFactory, values: object[]): Promise<void> {
  const db = await raw(factory);
  const tx = db.transaction("sessions", "readwrite");
  for (const value of values) tx.objectStore("sessions").put(value);
  await new Promise((resolve) => {
    tx.oncomplete = resolve;
  });
  db.close();
}

async function rawAll(factory: IDBFactory): Promise<unknown[]> {
  const db = await raw(factory);
  const all = await done(db.transaction("sessions").objectStore("sessions").getAll());
  db.close();
  return all;
}

/** Counts the transactions every connection creates, by mode. */
function countTransactions(): { readonly: number; readwrite: number } {
  const counts = { readonly: 0, readwrite: 0 };
  const original = IDBDatabase.prototype.transaction;
  vi.spyOn(IDBDatabase.prototype, "transaction").mockImplementation(function (
    this: IDBDatabase,
    ...args: Parameters<IDBDatabase["transaction"]>
  ) {
    counts[args[1] === "readwrite" ? "readwrite" : "readonly"]++;
    return original.apply(this, args);
  });
  return counts;
}

/** A factory that hands out the real one's requests and keeps the connections it opened. */
function watched(real: IDBFactory, bump = 0) {
  const connections: IDBDatabase[] = [];
  let blocked = () => {};
  const blockedOnce = new Promise<void>((resolve) => {
    blocked = resolve;
  });
  const factory = {
    open(name: string, version?: number) {
      const request = real.open(name, version === undefined ? undefined : version + bump);
      request.addEventListener("success", () => connections.push(request.result));
      request.addEventListener("blocked", () => blocked());
      return request;
    },
  } as unknown as IDBFactory;
  return { factory, connections, blockedOnce };
}

function degradedReasons(sm: SessionManager<unknown>): Error[] {
  const reasons: Error[] = [];
  sm.on("degraded", (reason) => reasons.push(reason));
  return reasons;
}

describe("indexedDB store: batches", () => {
  it("runs 1,000 concurrent adds in two transactions, not 2,000", async () => {
    const sm = new SessionManager({ backend: indexedDBStore({ indexedDB: new IDBFactory() }) });
    await sm.ready;
    const counts = countTransactions();
    const ids = Array.from({ length: 1000 }, (_, i) => `user${i}`);
    await Promise.all(ids.map((id) => sm.add(id, { data: { id } })));
    // One readonly transaction for the manager's 1,000 gets (none if it answers them from a
    // cache), one readwrite for its 1,000 adds.
    expect(counts.readwrite).toBe(1);
    expect(counts.readonly).toBeLessThanOrEqual(1);
    expect(await sm.list()).toHaveLength(1000);
    await sm.close();
  });

  it("gives each call of a batch its own condition result, in call order", async () => {
    const { store } = await opened(new IDBFactory());
    await store.set(rec("v", { version: 1 }));
    const counts = countTransactions();
    const results = await Promise.all([
      store.set(rec("a", { data: "first" }), { ifAbsent: true }),
      store.set(rec("a", { data: "second" }), { ifAbsent: true }),
      store.get("a"),
      store.set(rec("v", { version: 2 }), { ifVersion: 1 }),
      store.set(rec("v", { version: 3 }), { ifVersion: 1 }),
      store.delete("a", { ifVersion: 2 }),
      store.delete("a", { ifVersion: 1 }),
      store.get("a"),
      store.set(rec("a", { data: "third" }), { ifAbsent: true }),
      store.delete("nobody"),
      store.list(), // after the calls before it, in a transaction of its own
    ]);
    expect(results.slice(0, 10)).toEqual([
      true,
      false,
      expect.objectContaining({ data: "first" }),
      true,
      false,
      false,
      true,
      undefined,
      true,
      false,
    ]);
    expect((results[10] as SessionRecord[]).map((r) => [r.id, r.data, r.version])).toEqual([
      ["a", "third", 1],
      ["v", { n: 1 }, 2],
    ]);
    expect(counts).toEqual({ readonly: 1, readwrite: 1 });
    await store.close?.();
  });

  it("fails the whole batch when its transaction aborts, and writes none of it", async () => {
    const factory = new IDBFactory();
    const { store } = await opened(factory);
    const put = vi.spyOn(IDBObjectStore.prototype, "put");
    put.mockImplementationOnce(() => {
      throw new DOMException("The serialized value is too large", "DataError");
    });
    const calls = [store.set(rec("a")), store.set(rec("b"))];
    await expect(Promise.all(calls)).rejects.toThrow("too large");
    await expect(calls[1]).rejects.toThrow("too large");
    put.mockRestore();
    expect(await rawAll(factory)).toEqual([]);
    await store.close?.();
  });
});

describe("indexedDB store: reads of a large batch", () => {
  const ids = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

  it("learns which ids exist with one range read: absent ones cost no get", async () => {
    const { store } = await opened(new IDBFactory());
    for (const id of ids("k", 10)) await store.set(rec(id, { version: 5 }));
    const get = vi.spyOn(IDBObjectStore.prototype, "get");
    // 10 stored ids and 30 new ones, every kind of call, in one task.
    const calls = [
      ...ids("k", 10).map((id) => store.set(rec(id, { version: 6 }), { ifVersion: 5 })),
      ...ids("k", 40)
        .slice(10)
        .map((id) => store.set(rec(id), { ifAbsent: true })),
      store.get("k005"),
      store.get("k035"),
      store.delete("k039", { ifVersion: 1 }),
      store.delete("k050"),
    ];
    const results = await Promise.all(calls);
    expect(results.slice(0, 40)).toEqual(Array(40).fill(true));
    expect(results.slice(40, 42)).toEqual([
      expect.objectContaining({ id: "k005", version: 6 }),
      expect.objectContaining({ id: "k035", version: 1 }),
    ]);
    expect(results.slice(42)).toEqual([true, false]);
    // Only the 10 stored ids were read one by one; the 30 new ones and "k050" were not.
    expect(get).toHaveBeenCalledTimes(10);
    expect((await store.list()).length).toBe(39);
    await store.close?.();
  });

  it("reads each id when the range holds too many other keys to fetch", async () => {
    const { store } = await opened(new IDBFactory());
    for (const id of ids("b", 100)) await store.set(rec(id));
    const get = vi.spyOn(IDBObjectStore.prototype, "get");
    const wanted = ["a", ...ids("b", 100).filter((_, i) => i % 7 === 0), "c"];
    const found = await Promise.all(wanted.map((id) => store.get(id)));
    expect(found.map((r) => r?.id)).toEqual([undefined, ...wanted.slice(1, -1), undefined]);
    expect(get).toHaveBeenCalledTimes(wanted.length);
    await store.close?.();
  });
});

describe("indexedDB store: conditions hold across tabs", () => {
  it("lets exactly one of two tabs create an id", async () => {
    const factory = new IDBFactory();
    const tabs = [await opened(factory), await opened(factory)];
    const [a, b] = tabs.map(({ store }) => store) as [SessionStore, SessionStore];
    const won = await Promise.all([
      a.set(rec("x", { data: "a" }), { ifAbsent: true }),
      b.set(rec("x", { data: "b" }), { ifAbsent: true }),
    ]);
    expect(won.filter(Boolean)).toHaveLength(1);
    expect((await a.get("x"))?.data).toBe(won[0] ? "a" : "b");
    await Promise.all([a.close?.(), b.close?.()]);
  });

  it("lets exactly one of two tabs replace a version (read and write in one transaction)", async () => {
    const factory = new IDBFactory();
    const [a, b] = [(await opened(factory)).store, (await opened(factory)).store] as const;
    await a.set(rec("x", { version: 1 }));
    for (let round = 1; round <= 20; round++) {
      const won = await Promise.all([
        a.set(rec("x", { version: round + 1, data: "a" }), { ifVersion: round }),
        b.set(rec("x", { version: round + 1, data: "b" }), { ifVersion: round }),
      ]);
      expect(won.filter(Boolean)).toHaveLength(1);
    }
    expect((await b.get("x"))?.version).toBe(21);
    await Promise.all([a.close?.(), b.close?.()]);
  });

  it("loses no update when two managers change one session at once", async () => {
    const factory = new IDBFactory();
    const one = new SessionManager<number>({ backend: indexedDBStore({ indexedDB: factory }) });
    const two = new SessionManager<number>({ backend: indexedDBStore({ indexedDB: factory }) });
    await one.add("counter", { data: 0 });
    const bump = (sm: SessionManager<number>) => sm.update("counter", (n) => n + 1);
    await Promise.all([bump(one), bump(two), bump(one), bump(two)]);
    // The database has every bump; each manager's read cache has it once the other's message
    // is in (a manager reads its cache: the last writer's message may still be on its way).
    const store = indexedDBStore({ indexedDB: factory });
    await store.open?.({ report: (error) => expect.unreachable(String(error)) });
    expect((await store.get("counter"))?.data).toBe(4);
    await store.close?.();
    await vi.waitFor(async () => {
      expect([(await one.get("counter"))?.data, (await two.get("counter"))?.data]).toEqual([4, 4]);
    });
    await Promise.all([one.close(), two.close()]);
  });
});

describe("indexedDB store: sweeps", () => {
  it("purges in one readwrite transaction, walking only the expired range of the index", async () => {
    const factory = new IDBFactory();
    const now = Date.now();
    const future = { v: RECORD_FORMAT + 1, id: "future", expiresAt: now - 5 };
    // Unreadable and live: reported if the sweep read it, which a walk of the range does not.
    const junk = { id: "junk", expiresAt: now + 60_000 };
    await rawPut(factory, [future, junk]);
    const { store, reported } = await opened(factory);
    for (let i = 0; i < 50; i++) await store.set(rec(`live${i}`));
    await store.set(rec("old1", { expiresAt: now - 1000 }));
    await store.set(rec("old2", { expiresAt: now }));
    const counts = countTransactions();
    const removed = await store.purgeExpired(now);
    expect(removed.map((r) => r.id).sort()).toEqual(["old1", "old2"]);
    expect(counts).toEqual({ readonly: 0, readwrite: 1 });
    // The record of another format version was read (and reported), never deleted.
    expect(reported.map((e) => e.message)).toEqual([
      `skipped the stored record indexedDB ${DB} futu…: its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
    ]);
    expect((await rawAll(factory)).map((v) => (v as { id: string }).id)).toContain("future");
    await store.close?.();
  });

  it("skips corrupted and foreign entries with an error event, never deleting them", async () => {
    const factory = new IDBFactory();
    const foreign = [
      { id: "future", v: RECORD_FORMAT + 1, payload: "from a newer version" },
      { id: "junk", expiresAt: 0 },
      { id: 42, v: RECORD_FORMAT, note: "numeric key" },
    ];
    await rawPut(factory, foreign);
    const sm = new SessionManager({
      backend: indexedDBStore({ namespace: "app", indexedDB: factory }),
    });
    const errors: Error[] = [];
    sm.on("error", (error) => errors.push(error));
    await sm.ready;
    await sm.add("good");
    expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
    expect(await sm.get("future")).toBeUndefined();
    await expect(sm.add("future")).rejects.toBeInstanceOf(Error);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e instanceof BackendError)).toBe(true);
    expect(errors.map((e) => e.message)).toContain(
      `skipped the stored record indexedDB ${DB} 42: a field is missing or of the wrong type`,
    );
    await sm.clear();
    await sm.purgeExpired();
    expect(await rawAll(factory)).toEqual(expect.arrayContaining(foreign));
    expect(await rawAll(factory)).toHaveLength(3);
    await sm.close();
  });
});

describe("indexedDB store: connections the browser closes", () => {
  it("opens again and retries when the connection was closed from outside", async () => {
    const { factory, connections } = watched(new IDBFactory());
    const { store } = await opened(factory);
    await store.set(rec("a"));
    // Chromium: "Failed to execute 'transaction' on 'IDBDatabase': The database connection is closing."
    connections[0]?.close();
    expect(await store.set(rec("b"))).toBe(true);
    expect((await store.list()).map((r) => r.id)).toEqual(["a", "b"]);
    expect(connections).toHaveLength(2);
    await store.close?.();
  });

  it("opens again when Safari loses its IndexedDB server (UnknownError, WebKit bug 197050)", async () => {
    const { factory, connections } = watched(new IDBFactory());
    const { store } = await opened(factory);
    const transaction = vi.spyOn(IDBDatabase.prototype, "transaction");
    transaction.mockImplementationOnce(() => {
      throw new DOMException(
        "Connection to Indexed Database server lost. Refresh the page to try again",
        "UnknownError",
      );
    });
    expect(await store.set(rec("a"))).toBe(true);
    expect(connections).toHaveLength(2);
    transaction.mockRestore();
    expect((await store.get("a"))?.id).toBe("a");
    await store.close?.();
  });

  it("gives up after one retry, with the error of the retry", async () => {
    const { store } = await opened(new IDBFactory());
    vi.spyOn(IDBDatabase.prototype, "transaction").mockImplementation(() => {
      throw new DOMException("The database connection is closing.", "InvalidStateError");
    });
    await expect(store.set(rec("a"))).rejects.toThrow("The database connection is closing.");
    vi.restoreAllMocks();
    await store.close?.();
  });

  it("opens again when the browser ends the connection (close event: site data cleared)", async () => {
    const { factory, connections } = watched(new IDBFactory());
    const { store } = await opened(factory);
    await store.set(rec("a"));
    // fake-indexeddb types its parameter as the class, not an instance.
    forceCloseDatabase(connections[0] as never);
    await new Promise((resolve) => setImmediate(resolve));
    // The close event made it forget the connection: no transaction is tried on the dead one.
    const counts = countTransactions();
    expect((await store.get("a"))?.id).toBe("a");
    expect(counts).toEqual({ readonly: 1, readwrite: 0 });
    expect(connections).toHaveLength(2);
    await store.close?.();
  });

  it("closes on versionchange so another tab can upgrade or delete the database", async () => {
    const factory = new IDBFactory();
    const { store } = await opened(factory);
    await store.set(rec("a"));
    const deleting = factory.deleteDatabase(DB);
    const blocked = vi.fn();
    deleting.onblocked = blocked;
    await done(deleting);
    expect(blocked).not.toHaveBeenCalled();
    // The next call opens (and makes) the database again.
    expect(await store.get("a")).toBeUndefined();
    expect(await store.set(rec("b"))).toBe(true);
    // A newer version upgrades it: this older page can no longer open it, and says why.
    const newer = await raw(factory, 2);
    newer.close();
    await expect(store.list()).rejects.toThrow(
      `${DB} was upgraded by a newer version; reload the page`,
    );
    await store.close?.();
  });

  it("close() releases the connection", async () => {
    const factory = new IDBFactory();
    const { store } = await opened(factory);
    await store.set(rec("a"));
    await store.close?.();
    const deleting = factory.deleteDatabase(DB);
    const blocked = vi.fn();
    deleting.onblocked = blocked;
    await done(deleting);
    expect(blocked).not.toHaveBeenCalled();
  });
});

describe("indexedDB store: blocked upgrades", () => {
  const fakeTimers = () =>
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });

  it("gives up after a bounded wait on a tab that keeps an older version open", async () => {
    const real = new IDBFactory();
    // An old tab: version 1 open, and no versionchange handler to close it.
    const old = await raw(real, 1);
    // This page runs a newer release, whose schema is one version up.
    const { factory, connections, blockedOnce } = watched(real, 1);
    fakeTimers();
    const sm = new SessionManager({
      backend: indexedDBStore({ namespace: "app", indexedDB: factory }),
    });
    const reasons = degradedReasons(sm);
    await blockedOnce;
    expect(sm.status).toBe("loading");
    await vi.advanceTimersByTimeAsync(3000);
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons.map((r) => r.message)).toEqual([
      `indexedDB store failed: opening ${DB} was blocked for 3000 ms by another tab`,
    ]);
    expect(await sm.add("a")).toMatchObject({ id: "a" });
    // The old tab goes away: the upgrade completes late, and that connection is closed at once,
    // so it blocks nobody in turn.
    old.close();
    await vi.waitFor(() => expect(connections).toHaveLength(1));
    expect(() => connections[0]?.transaction("sessions")).toThrow(
      expect.objectContaining({ name: "InvalidStateError" }),
    );
    const next = real.open(DB, 3);
    const blocked = vi.fn();
    next.onblocked = blocked;
    (await done(next)).close();
    expect(blocked).not.toHaveBeenCalled();
  });

  it("waits while blocked, and opens once the old tab lets go within the bound", async () => {
    const real = new IDBFactory();
    const old = await raw(real, 1);
    const { factory, blockedOnce } = watched(real, 1);
    fakeTimers();
    const sm = new SessionManager({
      backend: indexedDBStore({ namespace: "app", indexedDB: factory }),
    });
    await blockedOnce;
    await vi.advanceTimersByTimeAsync(2000);
    old.close();
    await sm.ready;
    expect(sm.status).toBe("ready");
    await sm.close();
  });
});

describe("indexedDB store: falls back to memory", () => {
  it("when indexedDB is missing", async () => {
    vi.stubGlobal("indexedDB", undefined);
    const sm = new SessionManager({ backend: indexedDBStore() });
    const reasons = degradedReasons(sm);
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons[0]).toBeInstanceOf(BackendError);
    expect(reasons[0]?.message).toBe("indexedDB store failed: indexedDB is not available here");
    await sm.add("a", { data: 1 });
    expect((await sm.get("a"))?.data).toBe(1);
  });

  it("when open throws (Firefox private mode before 115)", async () => {
    const broken = {
      open() {
        throw new DOMException(
          "A mutation operation was attempted on a database that did not allow mutations.",
          "InvalidStateError",
        );
      },
    } as unknown as IDBFactory;
    const sm = new SessionManager({ backend: indexedDBStore({ indexedDB: broken }) });
    const reasons = degradedReasons(sm);
    expect(sm.status).toBe("loading");
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]?.cause).toBeInstanceOf(DOMException);
    await sm.add("a");
    expect(await sm.has("a")).toBe(true);
  });

  it("when the open request fails (a database of a newer version)", async () => {
    const factory = new IDBFactory();
    (await raw(factory, 5)).close();
    const sm = new SessionManager({
      backend: indexedDBStore({ namespace: "app", indexedDB: factory }),
    });
    const reasons = degradedReasons(sm);
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons[0]?.message).toBe(
      `indexedDB store failed: ${DB} was upgraded by a newer version; reload the page`,
    );
  });

  it("when the database holds no sessions store (made by other code)", async () => {
    const factory = new IDBFactory();
    const other = factory.open(DB, 1);
    (await done(other)).close();
    const sm = new SessionManager({
      backend: indexedDBStore({ namespace: "app", indexedDB: factory }),
    });
    await sm.ready;
    expect(sm.status).toBe("degraded");
  });
});
