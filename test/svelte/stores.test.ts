// The Svelte stores in Node, on a real manager and memory store: Svelte's store contract, with
// svelte/store's own `get`, `derived` and `fromStore` over them, and what they follow.
import { derived, fromStore, get, type Readable } from "svelte/store";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidSessionIdError, type Session, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { sessionStore, sessionsStore, statusStore, timeLeftStore } from "../../src/svelte/index.ts";
// Renamed: Biome's React rules (on since react is a dependency) take a `use…` call for a hook.
import { useFakeClock as fakeClockPerTest, T0 } from "../helpers/clock.ts";
import { listenersOf } from "./listeners.ts";

fakeClockPerTest();

type Data = { name: string };
const managers: SessionManager<Data>[] = [];
afterEach(async () => {
  for (const sm of managers.splice(0)) await sm.close();
});

function manager(): SessionManager<Data> {
  const sm = new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0, defaultTtl: "1m" });
  managers.push(sm);
  return sm;
}

/** Lets every pending promise and microtask run (setImmediate is not faked). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Subscribes, and keeps every value `run` was called with. */
function watch<T>(store: { subscribe(run: (value: T) => void): () => void }) {
  const values: T[] = [];
  const unsubscribe = store.subscribe((value) => values.push(value));
  return { values, unsubscribe, last: () => values.at(-1) };
}

describe("Svelte's store contract", () => {
  it("calls run synchronously at once, then with the session once read; unsubscribing stops the calls", async () => {
    const sm = manager();
    const ada = await sm.add("a", { data: { name: "Ada" } });
    const seen = watch(sessionStore(sm, "a"));
    expect(seen.values).toEqual([undefined]); // before any await
    await settle();
    expect(seen.values).toEqual([undefined, ada]);
    expect(typeof seen.unsubscribe).toBe("function");
    seen.unsubscribe();
    await sm.touch("a");
    await settle();
    expect(seen.values).toHaveLength(2);
  });

  it("gives a later subscriber the current value at once, and has no set", async () => {
    const sm = manager();
    const ada = await sm.add("a", { data: { name: "Ada" } });
    const store = sessionStore(sm, "a");
    const first = watch(store);
    await settle();
    const second = watch(store);
    expect(second.values).toEqual([ada]);
    expect("set" in store).toBe(false);
    expect(store).toBe(sessionStore(sm, "a")); // one store per manager and id
    first.unsubscribe();
    second.unsubscribe();
  });

  it("invalidates every subscriber before it runs any, as svelte/store's stores do", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    const store = sessionStore(sm, "a");
    const order: string[] = [];
    const offs = [1, 2].map((n) =>
      store.subscribe(
        (session) => order.push(`run ${n} ${session?.data.name}`),
        () => order.push(`invalidate ${n}`),
      ),
    );
    await settle();
    order.length = 0;
    await sm.update("a", { name: "Grace" });
    expect(order).toEqual(["invalidate 1", "invalidate 2", "run 1 Grace", "run 2 Grace"]);
    for (const off of offs) off();
  });

  it("lets a run that throws leave nothing subscribed", async () => {
    const sm = manager();
    const listeners = listenersOf(sm);
    expect(() =>
      sessionStore(sm, "a").subscribe(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    await settle();
    expect(listeners()).toBe(0);
  });

  it("refuses a bad id, interval or manager with a clear error", () => {
    const sm = manager();
    expect(() => sessionStore(sm, "")).toThrow(InvalidSessionIdError);
    expect(() => timeLeftStore(sm, "x".repeat(257))).toThrow(InvalidSessionIdError);
    expect(() => timeLeftStore(sm, "a", { interval: 0 })).toThrow(RangeError);
    expect(() => timeLeftStore(sm, "a", { interval: Number.NaN })).toThrow(RangeError);
    expect(() => sessionsStore(undefined as never)).toThrow(
      new TypeError("manager must be a SessionManager, got undefined"),
    );
    expect(() => sessionStore({} as never, "a")).toThrow(TypeError);
  });
});

describe("types", () => {
  it("are svelte/store's Readable, with no set, and take the manager's Data", () => {
    const sm = manager();
    const store: Readable<Session<Data> | undefined> = sessionStore(sm, "a");
    const list: Readable<readonly Session<Data>[]> = sessionsStore(sm);
    // @ts-expect-error readable: the manager's methods change the value
    expect(store.set).toBeUndefined();
    // @ts-expect-error the sessions are a frozen array
    const sessions: Session<Data>[] = get(list);
    expect(Object.isFrozen(sessions)).toBe(true);
    // @ts-expect-error the interval is a number of ms
    expect(() => timeLeftStore(sm, "a", { interval: "1s" })).toThrow(RangeError);
  });
});

describe("with svelte/store", () => {
  it("get() reads what a subscriber keeps live, and reads nothing from a cold store", async () => {
    const sm = manager();
    const ada = await sm.add("a", { data: { name: "Ada" } });
    const store = sessionStore(sm, "a");
    const read = vi.spyOn(sm, "get");
    expect(get(store)).toBeUndefined();
    await settle();
    expect(read).not.toHaveBeenCalled(); // subscribed and let go at once: nothing attached
    const live = watch(store);
    await settle();
    expect(get(store)).toBe(ada);
    expect(fromStore(store).current).toBe(ada);
    live.unsubscribe();
  });

  it("derived() follows our stores", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "10s" });
    const line = derived(
      [sessionStore(sm, "a"), timeLeftStore(sm, "a"), sessionsStore(sm)],
      ([session, left, all]) =>
        session ? `${session.data.name}, ${left} ms, ${all.length} in all` : "signed out",
    );
    const seen = watch(line);
    await settle();
    expect(seen.last()).toBe("Ada, 10000 ms, 1 in all");
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.last()).toBe("Ada, 9000 ms, 1 in all");
    await sm.add("b", { data: { name: "Grace" } });
    await sm.update("a", { name: "Ada L." });
    await settle();
    expect(seen.last()).toBe("Ada L., 9000 ms, 2 in all");
    await sm.remove("a");
    await settle();
    expect(seen.last()).toBe("signed out");
    seen.unsubscribe();
  });
});

describe("sessionStore follows its session", () => {
  it("through touch, update, rotate, remove and expiry", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    const seen = watch(sessionStore(sm, "a"));
    await settle();
    vi.setSystemTime(T0 + 5000);
    const touched = await sm.touch("a");
    expect(seen.last()).toBe(touched);
    expect(touched.expiresAt).toBe(T0 + 65_000);
    const updated = await sm.update("a", { name: "Grace" });
    expect(seen.last()).toBe(updated);
    const rotated = await sm.rotate("a");
    expect(seen.last()).toBeUndefined(); // the old id is gone
    const next = watch(sessionStore(sm, rotated.id));
    await settle();
    expect(next.last()).toBe(rotated);
    await sm.remove(rotated.id);
    expect(next.last()).toBeUndefined();

    const grace = await sm.add("a", { data: { name: "Grace" }, ttl: "2s" });
    expect(seen.last()).toBe(grace);
    await vi.advanceTimersByTimeAsync(2000);
    expect(seen.last()).toBeUndefined();
    seen.unsubscribe();
    next.unsubscribe();
  });

  it("is not called for another id's changes", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    await sm.add("b", { data: { name: "Bob" }, ttl: "2s" });
    const run = vi.fn();
    const off = sessionStore(sm, "a").subscribe(run);
    await settle();
    expect(run).toHaveBeenCalledTimes(2);
    await sm.touch("b");
    await sm.update("b", { name: "Bo" });
    await sm.rotate("b");
    await sm.add("c", { data: { name: "Cy" } });
    await sm.remove("c");
    await vi.advanceTimersByTimeAsync(2000); // the rotated b expires
    await settle();
    expect(run).toHaveBeenCalledTimes(2);
    off();
  });

  it("detaches from the manager when the last subscriber leaves, and reads again for the next", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    const listeners = listenersOf(sm);
    const store = sessionStore(sm, "a");
    const one = watch(store);
    const two = watch(store);
    await settle();
    expect(listeners()).toBeGreaterThan(0);
    one.unsubscribe();
    expect(listeners()).toBeGreaterThan(0);
    two.unsubscribe();
    expect(listeners()).toBe(0);
    one.unsubscribe(); // twice is harmless
    // Changed while nobody listened: the next subscriber reads it.
    const grace = await sm.update("a", { name: "Grace" });
    const three = watch(store);
    expect(three.values).toEqual([undefined]);
    await settle();
    expect(three.values).toEqual([undefined, grace]);
    three.unsubscribe();
    expect(listeners()).toBe(0);
  });

  it("attaches nothing for a subscriber that leaves in the same task (as server rendering does)", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    const listeners = listenersOf(sm);
    const read = vi.spyOn(sm, "get");
    const list = vi.spyOn(sm, "list");
    for (const store of [sessionStore(sm, "a"), sessionsStore(sm), timeLeftStore(sm, "a")]) {
      store.subscribe(() => {})();
    }
    await settle();
    expect(listeners()).toBe(0);
    expect(read).not.toHaveBeenCalled();
    expect(list).not.toHaveBeenCalled();
  });
});

describe("sessionsStore", () => {
  it("lists the live sessions, following adds, changes and removals, as new frozen arrays", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" } });
    const seen = watch(sessionsStore(sm));
    expect(seen.values).toEqual([[]]);
    await settle();
    expect(seen.last()?.map((s) => s.id)).toEqual(["a"]);
    await sm.add("b", { data: { name: "Bob" } });
    expect(seen.last()?.map((s) => s.id)).toEqual(["a", "b"]);
    const before = seen.last();
    await sm.update("b", { name: "Bo" });
    expect(seen.last()).not.toBe(before);
    expect(Object.isFrozen(seen.last())).toBe(true);
    expect(seen.last()?.map((s: Session<Data>) => s.data.name)).toEqual(["Ada", "Bo"]);
    await sm.remove("a");
    expect(seen.last()?.map((s) => s.id)).toEqual(["b"]);
    seen.unsubscribe();
  });
});

describe("timeLeftStore", () => {
  it("ticks each second while subscribed, turns at once on touch, and stops when left", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "10s" });
    const seen = watch(timeLeftStore(sm, "a"));
    await settle();
    expect(seen.values).toEqual([undefined, 10_000]);
    await vi.advanceTimersByTimeAsync(2500);
    expect(seen.values).toEqual([undefined, 10_000, 9000, 8000]);
    await sm.touch("a");
    expect(seen.last()).toBe(10_000);
    const timers = vi.getTimerCount();
    seen.unsubscribe();
    expect(vi.getTimerCount()).toBe(timers - 1);
    const count = seen.values.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen.values).toHaveLength(count);
  });

  it("turns undefined when the session expires, and takes an interval", async () => {
    const sm = manager();
    await sm.add("a", { data: { name: "Ada" }, ttl: "10s" });
    const seen = watch(timeLeftStore(sm, "a", { interval: 5000 }));
    await settle();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.values).toEqual([undefined, 10_000, 5000, undefined]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.values).toHaveLength(4);
    seen.unsubscribe();
  });
});

describe("statusStore", () => {
  it("says loading, then ready", async () => {
    const sm = manager();
    const seen = watch(statusStore(sm));
    expect(seen.values).toEqual(["loading"]);
    await sm.ready;
    await settle();
    expect(seen.values).toEqual(["loading", "ready"]);
    seen.unsubscribe();
  });
});
