import { describe, expect, it, vi } from "vitest";
import { SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";

const DAY = 86_400_000;

type Log = string[];

function watch(sm: SessionManager<unknown>): Log {
  const log: Log = [];
  sm.onExpiringSoon((s, msLeft) => log.push(`warn ${s.id} ${msLeft}`));
  sm.onExpired((s) => log.push(`expired ${s.id}`));
  return log;
}

describe("expiry with fake timers", () => {
  useFakeClock();

  it("warns once, warnBefore ahead, then expires and removes the session from the store", async () => {
    const store = memoryStore();
    const sm = new SessionManager({ backend: store, defaultTtl: "10m", warnBefore: "1m" });
    const log = watch(sm);
    await sm.add("a");
    await vi.advanceTimersByTimeAsync(9 * 60_000 - 1);
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(["warn a 60000"]);
    await vi.advanceTimersByTimeAsync(60_000 - 1);
    expect(log).toEqual(["warn a 60000"]);
    expect(store.get("a")).toBeDefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(["warn a 60000", "expired a"]);
    expect(store.get("a")).toBeUndefined();
  });

  it("touch before the warning moves it; touch after it arms a new one", async () => {
    const sm = new SessionManager({ defaultTtl: "10m", warnBefore: "1m" });
    const log = watch(sm);
    await sm.add("a");
    await vi.advanceTimersByTimeAsync(8 * 60_000);
    await sm.touch("a"); // expires at 18m now, warns at 17m
    await vi.advanceTimersByTimeAsync(60_000 + 1);
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(8 * 60_000);
    expect(log).toEqual(["warn a 60000"]);
    await sm.touch("a"); // stay signed in: expires at 27m, warns at 26m
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log).toEqual(["warn a 60000"]);
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(log).toEqual(["warn a 60000", "warn a 60000", "expired a"]);
  });

  it("update keeps the deadlines; remove cancels them", async () => {
    const sm = new SessionManager({ defaultTtl: "10m", warnBefore: "1m" });
    const log = watch(sm);
    await sm.add("a");
    await sm.add("b");
    await sm.update("a", { n: 1 });
    await sm.remove("b");
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(log).toEqual(["warn a 60000", "expired a"]);
  });

  it("a 30-day session does not fire early (setTimeout's 2^31-1 ms limit)", async () => {
    const sm = new SessionManager({ warnBefore: "1h" });
    const log = watch(sm);
    await sm.add("month", { ttl: "30d" });
    await vi.advanceTimersByTimeAsync(25 * DAY);
    expect(log).toEqual([]);
    expect(await sm.has("month")).toBe(true);
    await vi.advanceTimersByTimeAsync(5 * DAY - 3_600_000);
    expect(log).toEqual(["warn month 3600000"]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(log).toEqual(["warn month 3600000", "expired month"]);
  });

  it("keeps exactly one timer whatever the number of sessions", async () => {
    const sm = new SessionManager({ warnBefore: "1m" });
    for (let i = 0; i < 1000; i++) await sm.add(`s${i}`, { ttl: 120_000 + i * 1000 });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(200_000);
    expect(vi.getTimerCount()).toBe(1);
    await sm.clear();
    await vi.advanceTimersByTimeAsync(2_000_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("after a long sleep, fires what came due in deadline order, warning before expiring", async () => {
    const sm = new SessionManager({ warnBefore: "5s" });
    const log = watch(sm);
    await sm.add("a", { ttl: "10s" }); // warn 5s, expire 10s
    await sm.add("b", { ttl: "20s" }); // warn 15s, expire 20s
    await sm.add("c", { ttl: "1h" }); // not due
    // The machine sleeps: the clock jumps a minute while no timer runs.
    vi.setSystemTime(T0 + 60_000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(log).toEqual(["warn a 0", "expired a", "warn b 0", "expired b"]);
    expect(await sm.has("c")).toBe(true);
  });

  it("a timer that wakes late reports the true time left", async () => {
    const sm = new SessionManager({ warnBefore: "1m" });
    const log = watch(sm);
    await sm.add("a", { ttl: "10m" });
    // The clock runs 30 s ahead of the timers (a throttled tab): the warning timer wakes at
    // 9.5 min of wall time instead of 9, and the listener hears what is truly left.
    vi.setSystemTime(T0 + 30_000);
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(Date.now()).toBe(T0 + 9.5 * 60_000);
    expect(log).toEqual(["warn a 30000"]);
  });

  it("warnBefore >= ttl warns at once, once", async () => {
    const sm = new SessionManager({ warnBefore: "5m" });
    const log = watch(sm);
    await sm.add("a", { ttl: "1m" });
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(["warn a 60000"]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(log).toEqual(["warn a 60000"]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(log).toEqual(["warn a 60000", "expired a"]);
  });

  it("warnBefore 0 turns warnings off but not expiry", async () => {
    const sm = new SessionManager({ warnBefore: 0 });
    const log = watch(sm);
    await sm.add("a", { ttl: "1m" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log).toEqual(["expired a"]);
  });

  it("purgeExpired warns first about sessions it ends before their warning fired", async () => {
    const sm = new SessionManager({ warnBefore: "10s" });
    const log = watch(sm);
    await sm.add("a", { ttl: "1m" });
    vi.setSystemTime(T0 + 120_000);
    expect(await sm.purgeExpired()).toBe(1);
    expect(log).toEqual(["warn a 0", "expired a"]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(log).toEqual(["warn a 0", "expired a"]);
  });

  it("a change by another writer to the store is followed, not overwritten", async () => {
    const store = memoryStore();
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    const log = watch(sm);
    const s = await sm.add("a", { ttl: "1m" });
    // Another manager (a tab, a process) extends it in the shared store.
    store.set({ ...s, expiresAt: T0 + 120_000, version: 2 }, { ifVersion: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log).toEqual([]);
    expect(await sm.has("a")).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(log).toEqual(["expired a"]);
  });
});

describe("expiry with real timers", () => {
  it("drains a burst of 100k due sessions in slices that yield to the event loop", async () => {
    const sm = new SessionManager({ warnBefore: 0 });
    const n = 100_000;
    const ttl = 300;
    for (let i = 0; i < n; i++) await sm.add(`s${i}`, { ttl });
    let expired = 0;
    let lastExpiresAt = 0;
    let outOfOrder = 0;
    let probeRunsDuringDrain = 0;
    const done = new Promise<void>((resolve) => {
      sm.onExpired((s) => {
        if (s.expiresAt < lastExpiresAt) outOfOrder++;
        lastExpiresAt = s.expiresAt;
        if (++expired === n) resolve();
      });
    });
    // A probe that runs once per event-loop turn: it only gets to run while the drain yields.
    // (setImmediate in Node; a page has none, and a MessageChannel message is one turn there.)
    const nextTurn = (run: () => void) => {
      if (typeof setImmediate === "function") return void setImmediate(run);
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {
        port1.close();
        run();
      };
      port2.postMessage(null);
    };
    let probing = true;
    const probe = () => {
      if (expired > 0 && expired < n) probeRunsDuringDrain++;
      if (probing) nextTurn(probe);
    };
    probe();
    await done;
    probing = false;
    expect(expired).toBe(n);
    expect(outOfOrder).toBe(0);
    expect(probeRunsDuringDrain).toBeGreaterThan(1);
    expect(await sm.list()).toEqual([]);
    await sm.close();
  }, 60_000);
});
