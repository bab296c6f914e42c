// The framework-neutral sources under the React, Vue and Svelte bindings, on a real manager.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  NO_SESSIONS,
  sessionSource,
  sessionsSource,
  statusSource,
  timeLeftSource,
} from "../../src/bindings/sources.ts";
import { SessionManager } from "../../src/manager.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { deferred } from "../helpers/gate.ts";
import { listening } from "./listening.ts";

const managers: SessionManager<unknown>[] = [];
function manager<Data = unknown>(): SessionManager<Data> {
  const sm = new SessionManager<Data>({ backend: memoryStore(), warnBefore: 0 });
  managers.push(sm as SessionManager<unknown>);
  return sm;
}
afterEach(async () => {
  vi.useRealTimers();
  for (const sm of managers.splice(0)) await sm.close();
});

/** Lets pending promise callbacks (a load, an event after a write) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Subscribes to `source` and records each value it has when it calls back. */
function record<T>(source: { get(): T; subscribe(fn: () => void): () => void }) {
  const values: T[] = [];
  const unsubscribe = source.subscribe(() => values.push(source.get()));
  return { values, unsubscribe };
}

describe("sessionSource", () => {
  it("is one source per manager and id", () => {
    const sm = manager();
    const other = manager();
    expect(sessionSource(sm, "a")).toBe(sessionSource(sm, "a"));
    expect(sessionSource(sm, "a")).not.toBe(sessionSource(sm, "b"));
    expect(sessionSource(sm, "a")).not.toBe(sessionSource(other, "a"));
  });

  it("asks nothing of the manager before its first subscriber", async () => {
    const sm = manager();
    await sm.add("a", { data: 1 });
    const calls = listening(sm);
    const source = sessionSource(sm, "a");
    expect(source.get()).toBeUndefined();
    expect(sessionsSource(sm).get()).toBe(NO_SESSIONS);
    expect(timeLeftSource(sm, "a").get()).toBeUndefined();
    await settle();
    expect(calls.calls).toEqual({ get: 0, list: 0, on: 0 });
    const { unsubscribe } = record(source);
    expect(calls.calls.get).toBe(1);
    await settle();
    expect(source.get()).toMatchObject({ id: "a", data: 1 });
    unsubscribe();
  });

  it("follows add, touch, update, rotate and remove of its id", async () => {
    const sm = manager<number>();
    const a = record(sessionSource(sm, "a"));
    await settle();
    expect(a.values).toEqual([]); // absent: the value stayed undefined
    const added = await sm.add("a", { data: 1 });
    const touched = await sm.touch("a");
    const updated = await sm.update("a", 2);
    const rotated = await sm.rotate("a");
    expect(a.values).toEqual([added, touched, updated, undefined]);
    expect(sessionSource(sm, "a").get()).toBeUndefined();

    const moved = record(sessionSource(sm, rotated.id));
    await settle();
    expect(moved.values).toEqual([rotated]);
    await sm.remove(rotated.id);
    expect(moved.values).toEqual([rotated, undefined]);
    a.unsubscribe();
    moved.unsubscribe();
  });

  it("turns undefined when its session expires", async () => {
    const sm = manager();
    await sm.add("a", { ttl: "40ms" });
    const source = sessionSource(sm, "a");
    const { values, unsubscribe } = record(source);
    await settle();
    expect(values).toHaveLength(1);
    await new Promise<void>((resolve) => sm.onExpired(() => resolve()));
    expect(values).toHaveLength(2);
    expect(source.get()).toBeUndefined();
    unsubscribe();
  });

  it("is not told about other ids", async () => {
    const sm = manager();
    await sm.add("a");
    await sm.add("b");
    const { values, unsubscribe } = record(sessionSource(sm, "a"));
    await settle();
    expect(values).toHaveLength(1);
    await sm.touch("b");
    await sm.update("b", 5);
    await sm.add("c");
    await sm.rotate("b");
    await sm.remove("c");
    expect(values).toHaveLength(1);
    unsubscribe();
  });

  it("keeps a change heard while it loads over the older value the load read", async () => {
    const sm = manager();
    const first = await sm.add("a");
    const gate = deferred();
    const read = sm.get.bind(sm);
    let readDone = false;
    sm.get = async (id: string) => {
      const found = await read(id);
      readDone = true;
      await gate.promise; // the load holds its (now old) value until the touch is heard
      return found;
    };
    const source = sessionSource(sm, "a");
    const { unsubscribe } = record(source);
    await vi.waitFor(() => expect(readDone).toBe(true));
    const touched = await sm.touch("a", "2h");
    expect(source.get()).toBe(touched);
    gate.resolve();
    await settle();
    expect(source.get()).toBe(touched);
    expect(source.get()).not.toBe(first);
    unsubscribe();
  });

  it("reads again after its last subscriber left, and is shared again when held on", async () => {
    const sm = manager();
    await sm.add("a", { data: 1 });
    const source = sessionSource(sm, "a");
    const first = record(source);
    await settle();
    first.unsubscribe();
    expect(source.get()).toBeUndefined();
    await sm.update("a", 2); // not heard: nobody listens
    const again = record(source);
    await settle();
    expect(source.get()).toMatchObject({ data: 2 });
    // Subscribed again, the held source is the one everyone gets.
    expect(sessionSource(sm, "a")).toBe(source);
    again.unsubscribe();
  });

  it("lets go of a source nobody subscribed to once the task it was made in is over (server rendering)", async () => {
    const sm = manager();
    const rendered = sessionSource(sm, "a");
    expect(sessionSource(sm, "a")).toBe(rendered); // shared within the task
    await settle();
    const later = sessionSource(sm, "a");
    expect(later).not.toBe(rendered); // not kept for an id rendered once and never subscribed
    const held = record(later);
    await settle();
    expect(sessionSource(sm, "a")).toBe(later); // a subscribed source is kept
    held.unsubscribe();
  });

  it("takes only string ids", () => {
    const sm = manager();
    expect(() => sessionSource(sm, 5 as unknown as string)).toThrow(
      new TypeError("id must be a string, got number"),
    );
  });
});

describe("sessionsSource", () => {
  it("lists in order and replaces a frozen array on each change", async () => {
    const sm = manager<number>();
    await sm.add("a", { data: 1 });
    await sm.add("b", { data: 2 });
    const source = sessionsSource(sm);
    expect(sessionsSource(sm)).toBe(source);
    const { values, unsubscribe } = record(source);
    await settle();
    const ids = () => source.get().map((s) => s.id);
    expect(ids()).toEqual(["a", "b"]);
    const loaded = source.get();
    expect(Object.isFrozen(loaded)).toBe(true);

    await sm.add("c", { data: 3 });
    expect(ids()).toEqual(["a", "b", "c"]);
    await sm.touch("a");
    expect(ids()).toEqual(["a", "b", "c"]);
    await sm.update("b", 20);
    expect(source.get()[1]?.data).toBe(20);
    const rotated = await sm.rotate("a");
    expect(ids()).toEqual(["b", "c", rotated.id]);
    await sm.remove("c");
    expect(ids()).toEqual(["b", rotated.id]);

    expect(values).toHaveLength(6);
    expect(new Set(values).size).toBe(6);
    expect(values.every((v) => Object.isFrozen(v))).toBe(true);
    expect(loaded.map((s) => s.id)).toEqual(["a", "b"]); // never mutated
    unsubscribe();
    expect(source.get()).toBe(NO_SESSIONS);
  });

  it("applies the changes heard while the list loads on top of it", async () => {
    const sm = manager();
    await sm.add("a");
    await sm.add("b");
    const gate = deferred();
    const list = sm.list.bind(sm);
    let listed = false;
    sm.list = async () => {
      const sessions = await list();
      listed = true;
      await gate.promise;
      return sessions;
    };
    const source = sessionsSource(sm);
    const { values, unsubscribe } = record(source);
    await vi.waitFor(() => expect(listed).toBe(true));
    await sm.remove("a");
    const c = await sm.add("c");
    expect(values).toEqual([]);
    gate.resolve();
    await settle();
    expect(source.get().map((s) => s.id)).toEqual(["b", "c"]);
    expect(source.get()[1]).toBe(c);
    expect(values).toHaveLength(1);
    unsubscribe();
  });

  it("drops an expired session", async () => {
    const sm = manager();
    await sm.add("a", { ttl: "40ms" });
    await sm.add("b");
    const source = sessionsSource(sm);
    const { unsubscribe } = record(source);
    await settle();
    expect(source.get()).toHaveLength(2);
    await new Promise<void>((resolve) => sm.onExpired(() => resolve()));
    expect(source.get().map((s) => s.id)).toEqual(["b"]);
    unsubscribe();
  });
});

describe("timeLeftSource", () => {
  const fake = () =>
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });

  it("counts down on the interval's boundaries, moves on a touch, and stops at expiry", async () => {
    fake();
    const sm = manager();
    await sm.add("a", { ttl: "10s" });
    const timersBefore = vi.getTimerCount();
    const source = timeLeftSource(sm, "a");
    expect(timeLeftSource(sm, "a")).toBe(source);
    expect(timeLeftSource(sm, "a", 250)).not.toBe(source);
    const { values, unsubscribe } = record(source);
    await vi.advanceTimersByTimeAsync(0);
    expect(values).toEqual([10_000]);
    await vi.advanceTimersByTimeAsync(999);
    expect(values).toEqual([10_000]);
    await vi.advanceTimersByTimeAsync(1);
    expect(values).toEqual([10_000, 9000]);
    await vi.advanceTimersByTimeAsync(2500);
    expect(values).toEqual([10_000, 9000, 8000, 7000]);
    // 6.5 s left: a touch gives 10 s again, then the boundaries are those of the new deadline.
    await sm.touch("a");
    expect(source.get()).toBe(10_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.get()).toBe(9000);
    values.length = 0;
    await vi.advanceTimersByTimeAsync(8999);
    expect(values).toEqual([8000, 7000, 6000, 5000, 4000, 3000, 2000, 1000]);
    // At the deadline: 0 if this tick runs before the manager's expiry, then the session ended.
    await vi.advanceTimersByTimeAsync(1000);
    expect(values.filter((v) => v !== 0)).toEqual([
      8000,
      7000,
      6000,
      5000,
      4000,
      3000,
      2000,
      1000,
      undefined,
    ]);
    unsubscribe();
    expect(vi.getTimerCount()).toBeLessThanOrEqual(timersBefore);
  });

  it("ticks at its own interval, rounded up", async () => {
    fake();
    const sm = manager();
    await sm.add("a", { ttl: 1100 });
    const { values, unsubscribe } = record(timeLeftSource(sm, "a", 250));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(99);
    expect(values).toEqual([1250]);
    await vi.advanceTimersByTimeAsync(1);
    expect(values).toEqual([1250, 1000]);
    await vi.advanceTimersByTimeAsync(500);
    expect(values).toEqual([1250, 1000, 750, 500]);
    unsubscribe();
  });

  it("sets no timer once its last subscriber left", async () => {
    fake();
    const sm = manager();
    await sm.add("a", { ttl: "1h" });
    const idle = vi.getTimerCount();
    const source = timeLeftSource(sm, "a");
    const first = record(source);
    const second = record(source);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(idle + 1);
    first.unsubscribe();
    await vi.advanceTimersByTimeAsync(1000);
    expect(second.values).toEqual([3_600_000, 3_599_000]);
    second.unsubscribe();
    expect(vi.getTimerCount()).toBe(idle);
    await vi.advanceTimersByTimeAsync(5000);
    expect(second.values).toHaveLength(2);
    expect(source.get()).toBeUndefined();
  });

  it("is undefined without a session and rejects a bad interval", async () => {
    const sm = manager();
    const { values, unsubscribe } = record(timeLeftSource(sm, "none"));
    await settle();
    expect(values).toEqual([]);
    unsubscribe();
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => timeLeftSource(sm, "a", bad)).toThrow(RangeError);
    }
  });
});

describe("statusSource", () => {
  it("goes from loading to ready", async () => {
    const sm = manager();
    const source = statusSource(sm);
    expect(source.get()).toBe("loading");
    const { values, unsubscribe } = record(source);
    await sm.ready;
    await settle();
    expect(values).toEqual(["ready"]);
    unsubscribe();
    // Nobody listens: read from the manager, not a stale copy.
    expect(statusSource(sm).get()).toBe("ready");
    const other = manager();
    const unheard = statusSource(other);
    expect(unheard.get()).toBe("loading");
    await other.ready;
    expect(unheard.get()).toBe("ready");
  });

  it("says degraded when a browser store cannot open and sessions are kept in memory", async () => {
    const refused: SessionStore = {
      ...memoryStore(),
      name: "refusing",
      capabilities: { fallback: true },
      open() {
        throw new Error("storage is disabled");
      },
    };
    const sm = new SessionManager({ backend: refused });
    managers.push(sm);
    const source = statusSource(sm);
    const { values, unsubscribe } = record(source);
    await sm.ready;
    await settle();
    // Told on `degraded` and again when ready: the value is the same, which React and Svelte skip.
    expect(values.length).toBeGreaterThan(0);
    expect(new Set(values)).toEqual(new Set(["degraded"]));
    unsubscribe();
  });
});

describe("the manager's listeners", () => {
  it("are one set per manager while anyone listens, and let go after the last", async () => {
    const sm = manager();
    await sm.add("a");
    await sm.add("b");
    const counted = listening(sm);
    const subscriptions: { values: unknown[]; unsubscribe(): void }[] = [
      record(sessionSource(sm, "a")),
      record(sessionSource(sm, "a")),
      record(sessionSource(sm, "b")),
      record(sessionsSource(sm)),
      record(timeLeftSource(sm, "a")),
    ];
    await settle();
    const held = counted.total();
    expect(held).toBeGreaterThan(0);
    subscriptions.push(record(sessionSource(sm, "c")), record(statusSource(sm)));
    expect(counted.total()).toBe(held + 1); // status listens for degraded; the id uses the hub
    for (const { unsubscribe } of subscriptions) {
      unsubscribe();
      unsubscribe(); // twice is once
    }
    expect(counted.total()).toBe(0);
    const heard = subscriptions.map(({ values }) => values.length);
    await sm.touch("a");
    await sm.add("c");
    expect(subscriptions.map(({ values }) => values.length)).toEqual(heard);
  });

  it("hear nothing after unsubscribing", async () => {
    const sm = manager();
    const { values, unsubscribe } = record(sessionSource(sm, "a"));
    await settle();
    unsubscribe();
    await sm.add("a");
    await sm.touch("a");
    expect(values).toEqual([]);
  });
});
