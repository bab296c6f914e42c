import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { cachedStore } from "../../src/stores/cached.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore, StoreContext } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { testStore } from "./conformance.ts";

// "cached memory" (and a cached run of every other store) comes from testStore itself.
testStore({
  name: "cached async store, max 2",
  create: () => cachedStore(asyncStore(memoryStore()), { max: 2, ttl: 60_000 }),
  cached: false,
});

/** The same store answering with promises, as network stores do. */
function asyncStore(inner: SessionStore): SessionStore {
  const wrapped: Record<string, unknown> = { name: "async" };
  for (const method of ["get", "set", "delete", "list", "listPrefix", "clear", "purgeExpired"]) {
    const fn = inner[method as keyof SessionStore] as (a?: unknown, b?: unknown) => unknown;
    wrapped[method] = async (a?: unknown, b?: unknown) => fn(a, b);
  }
  return wrapped as unknown as SessionStore;
}

/** A memory store (`inner`, which stands for other processes too) counting the reads that reach it. */
function counted() {
  const inner = memoryStore();
  const calls = { get: 0 };
  const store: SessionStore = {
    ...inner,
    get: (id) => {
      calls.get++;
      return inner.get(id);
    },
  };
  return { inner, store, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("cachedStore", () => {
  it("serves repeated reads of a hot session from memory", async () => {
    const { inner, store, calls } = counted();
    inner.set(rec("hot"));
    const cached = cachedStore(store, { max: 10 });
    for (let i = 0; i < 100; i++) expect((await cached.get("hot"))?.id).toBe("hot");
    expect(calls.get).toBe(1);
    // Known absence is cached too.
    await cached.get("nobody");
    await cached.get("nobody");
    expect(calls.get).toBe(2);
  });

  it("answers synchronously when it can, like the memory store", () => {
    const cached = cachedStore(memoryStore(), { max: 10 });
    expect(cached.set(rec("a"))).toBe(true);
    expect(cached.get("a")).toMatchObject({ id: "a" });
  });

  it("never holds more than max entries, evicting the least recently read", async () => {
    const { inner, store, calls } = counted();
    for (const id of "abcdefghij") inner.set(rec(id));
    const cached = cachedStore(store, { max: 3, ttl: Infinity });
    for (const id of "abcdefghij") await cached.get(id);
    expect(calls.get).toBe(10);
    for (const id of "hij") await cached.get(id); // the last three are held
    expect(calls.get).toBe(10);
    await cached.get("h"); // h is now the most recent: i goes next
    await cached.get("a"); // evicted long ago: read again, evicting i
    expect(calls.get).toBe(11);
    await cached.get("h");
    await cached.get("j");
    expect(calls.get).toBe(11);
    await cached.get("i");
    expect(calls.get).toBe(12);
  });

  it("writes through to the store and serves what it wrote", async () => {
    const { inner, store, calls } = counted();
    const cached = cachedStore(store, { max: 10 });
    expect(await cached.set(rec("a", { data: "v1" }), { ifAbsent: true })).toBe(true);
    expect(inner.get("a")).toMatchObject({ data: "v1" });
    expect(await cached.get("a")).toMatchObject({ data: "v1" });
    expect(await cached.set(rec("a", { data: "v2", version: 2 }), { ifVersion: 1 })).toBe(true);
    expect(await cached.get("a")).toMatchObject({ data: "v2", version: 2 });
    expect(await cached.delete("a")).toBe(true);
    expect(inner.get("a")).toBeUndefined();
    expect(await cached.get("a")).toBeUndefined();
    expect(calls.get).toBe(0);
  });

  it("drops an entry when a conditional write fails, so the next read sees the other writer", async () => {
    const { inner, store, calls } = counted();
    inner.set(rec("a", { data: "mine" }));
    const cached = cachedStore(store, { max: 10, ttl: Infinity });
    await cached.get("a");
    inner.set(rec("a", { data: "theirs", version: 2 })); // another process
    expect(await cached.get("a")).toMatchObject({ data: "mine" }); // stale, as documented
    expect(await cached.set(rec("a", { version: 2 }), { ifVersion: 1 })).toBe(false);
    expect(await cached.get("a")).toMatchObject({ data: "theirs" });
    expect(calls.get).toBe(2);
  });

  it("drops an entry whose write rejected", async () => {
    const { inner, store } = counted();
    inner.set(rec("a", { data: "old" }));
    let fail = true;
    const flaky: SessionStore = {
      ...store,
      set: async (record, condition) => {
        if (fail) throw new Error("down");
        return store.set(record, condition);
      },
    };
    const cached = cachedStore(flaky, { max: 10, ttl: Infinity });
    await cached.get("a");
    await expect(cached.set(rec("a", { data: "new" }))).rejects.toThrow("down");
    inner.set(rec("a", { data: "other" }));
    expect(await cached.get("a")).toMatchObject({ data: "other" });
    fail = false;
  });

  it("serves an entry for at most ttl ms: the bound on staleness", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { inner, store, calls } = counted();
    inner.set(rec("a", { data: "v1" }));
    const cached = cachedStore(store, { max: 10, ttl: 1000 });
    await cached.get("a");
    inner.set(rec("a", { data: "v2", version: 2 }));
    vi.advanceTimersByTime(999);
    expect(await cached.get("a")).toMatchObject({ data: "v1" });
    vi.advanceTimersByTime(1);
    expect(await cached.get("a")).toMatchObject({ data: "v2" });
    expect(calls.get).toBe(2);
  });

  it("does not cache a read that a write overlapped", async () => {
    const inner = memoryStore();
    inner.set(rec("a", { data: "old" }));
    let release = () => {};
    const slow: SessionStore = {
      ...inner,
      get: (id) => {
        const record = inner.get(id);
        return new Promise((resolve) => {
          release = () => resolve(record);
        });
      },
    };
    const cached = cachedStore(slow, { max: 10, ttl: Infinity });
    const reading = cached.get("a");
    await cached.set(rec("a", { data: "new", version: 2 }));
    release();
    expect(await reading).toMatchObject({ data: "old" });
    expect(await cached.get("a")).toMatchObject({ data: "new" });
  });

  it("keeps the cache right through list, purgeExpired and clear", async () => {
    const { inner, store, calls } = counted();
    const cached = cachedStore(store, { max: 10, ttl: Infinity });
    await cached.set(rec("a"));
    await cached.set(rec("b", { expiresAt: 5 }));
    await cached.set(rec("c"));
    inner.delete("c"); // another process removed it
    inner.set(rec("a", { data: "theirs", version: 2 }));
    expect((await cached.list()).map((r) => r.id).sort()).toEqual(["a", "b"]);
    expect(await cached.get("a")).toMatchObject({ data: "theirs" });
    expect(await cached.get("c")).toBeUndefined();
    expect(calls.get).toBe(1); // c only: list refreshed a
    expect((await cached.purgeExpired(10)).map((r) => r.id)).toEqual(["b"]);
    expect(await cached.get("b")).toBeUndefined();
    await cached.clear();
    expect(await cached.get("a")).toBeUndefined();
    expect(calls.get).toBe(3);
  });

  it("passes listPrefix, open and close through, and only when the store has them", async () => {
    const opened: string[] = [];
    const store: SessionStore = {
      ...memoryStore(),
      open: () => {
        opened.push("open");
      },
      close: () => {
        opened.push("close");
      },
    };
    const cached = cachedStore(store, { max: 10 });
    await cached.open?.({ report: () => {} });
    await cached.set(rec("alice/1"));
    await cached.set(rec("bob/1"));
    expect((await cached.listPrefix?.("alice/"))?.map((r) => r.id)).toEqual(["alice/1"]);
    await cached.close?.();
    expect(opened).toEqual(["open", "close"]);
    const { listPrefix: _, ...withoutPrefix } = memoryStore();
    const bare = cachedStore(withoutPrefix, { max: 1 });
    expect(bare.listPrefix).toBeUndefined();
    expect(bare.open).toBeUndefined();
  });

  it("drops the entries of changes a store learns from elsewhere (a remote store)", async () => {
    const inner = memoryStore();
    let context: StoreContext | undefined;
    const remote: SessionStore = {
      ...inner,
      open: (given) => {
        context = given;
      },
    };
    const heard: string[] = [];
    const cached = cachedStore(remote, { max: 10, ttl: Infinity });
    await cached.open?.({ report: () => {}, changed: (event) => heard.push(event) });
    await cached.set(rec("a", { data: "mine" }));
    const theirs = rec("a", { data: "theirs", version: 2 });
    inner.set(theirs);
    context?.changed?.("updated", [theirs]);
    expect(heard).toEqual(["updated"]);
    expect(await cached.get("a")).toMatchObject({ data: "theirs" });
  });

  it("serves a SessionManager, which reads the store before each write", async () => {
    const { store, calls } = counted();
    const sm = new SessionManager({ backend: cachedStore(store, { max: 100 }) });
    await sm.add("s", { ttl: "10m" });
    await sm.touch("s");
    await sm.get("s");
    await sm.get("s");
    expect(calls.get).toBeLessThanOrEqual(1);
    expect(await sm.remove("s")).toBe(true);
    await sm.close();
  });
});
