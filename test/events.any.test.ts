import { describe, expect, it, vi } from "vitest";
import { BackendError, SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionStore } from "../src/stores/types.ts";
import { useFakeClock } from "./helpers/clock.ts";

useFakeClock();

describe("events", () => {
  it("fire for every change with the session as it is now", async () => {
    const sm = new SessionManager<{ n: number }>({ warnBefore: 0 });
    const seen: unknown[] = [];
    for (const event of ["added", "touched", "updated", "removed"] as const) {
      sm.on(event, (session: { version: number; data: unknown }, previous?: unknown) =>
        seen.push([
          event,
          session.version,
          session.data,
          previous && (previous as { data: unknown }).data,
        ]),
      );
    }
    await sm.add("a", { data: { n: 1 } });
    await sm.touch("a");
    await sm.update("a", { n: 2 });
    await sm.remove("a");
    expect(seen).toEqual([
      ["added", 1, { n: 1 }, undefined],
      ["touched", 2, { n: 1 }, undefined],
      ["updated", 3, { n: 2 }, { n: 1 }],
      ["removed", 3, { n: 2 }, undefined],
    ]);
  });

  it("clear fires removed for each live session", async () => {
    const sm = new SessionManager({ warnBefore: 0 });
    const removed = vi.fn();
    sm.on("removed", removed);
    await sm.add("a");
    await sm.add("b");
    await sm.clear();
    expect(removed.mock.calls.map(([s]) => s.id).sort()).toEqual(["a", "b"]);
  });

  it("stop after unsubscribing", async () => {
    const sm = new SessionManager();
    const added = vi.fn();
    const off = sm.on("added", added);
    const offWarn = sm.onExpiringSoon(vi.fn());
    await sm.add("a");
    off();
    offWarn();
    await sm.add("b");
    expect(added).toHaveBeenCalledOnce();
  });

  it("a listener that throws is reported on error and breaks nothing", async () => {
    const sm = new SessionManager({ warnBefore: "1m" });
    const boom = new Error("listener bug");
    const errors: Error[] = [];
    sm.on("error", (e) => errors.push(e));
    const after = vi.fn();
    sm.on("added", () => {
      throw boom;
    });
    sm.on("added", after);
    sm.onExpiringSoon(() => {
      throw new Error("warn bug");
    });
    const expired = vi.fn();
    sm.onExpired(expired);
    const session = await sm.add("a", { ttl: "2m" });
    expect(session.id).toBe("a");
    expect(after).toHaveBeenCalledOnce();
    expect(await sm.has("a")).toBe(true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(expired).toHaveBeenCalledOnce();
    expect(errors.map((e) => e.message)).toEqual(["listener bug", "warn bug"]);
    expect(errors[0]).toBe(boom);
  });

  it("an async listener that rejects is reported on error too", async () => {
    const sm = new SessionManager();
    const errors: Error[] = [];
    sm.on("error", (e) => errors.push(e));
    sm.on("added", async () => {
      throw "not even an Error";
    });
    await sm.add("a");
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(errors[0]?.message).toBe("not even an Error");
  });

  it("an error listener that throws goes to the logger, not into a loop", async () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const sm = new SessionManager({ logger });
    const onError = vi.fn(() => {
      throw new Error("error listener bug");
    });
    sm.on("error", onError);
    sm.on("added", () => {
      throw new Error("first");
    });
    await sm.add("a");
    expect(onError).toHaveBeenCalledOnce();
    expect(logger.error).toHaveBeenCalledOnce();
    expect(logger.error.mock.calls[0]?.[0]).toContain("error listener bug");
  });

  it("errors of the store reach the caller as BackendError and lose no session", async () => {
    const inner = memoryStore();
    let down = false;
    const failing = (fn: (...args: never[]) => unknown) =>
      ((...args: never[]) => {
        if (down) throw new Error("ECONNREFUSED");
        return fn(...args);
      }) as never;
    const store: SessionStore = {
      name: "flaky",
      get: failing(inner.get),
      set: failing(inner.set),
      delete: failing(inner.delete),
      list: failing(inner.list),
      clear: failing(inner.clear),
      purgeExpired: failing(inner.purgeExpired),
    };
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    const added = await sm.add("a", { ttl: "1h", data: { keep: true } });
    down = true;
    const error = await sm.touch("a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({
      code: "BACKEND_UNAVAILABLE",
      message: "flaky store failed: ECONNREFUSED",
    });
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(sm.add("b")).rejects.toBeInstanceOf(BackendError);
    await expect(sm.remove("a")).rejects.toBeInstanceOf(BackendError);
    down = false;
    expect(await sm.get("a")).toEqual(added);
    expect(await sm.has("b")).toBe(false);
  });

  it("a store failing during the expiry sweep is reported on error, and the sweep retries it", async () => {
    const inner = memoryStore();
    let down = false;
    const store: SessionStore = {
      ...inner,
      name: "flaky",
      delete: (id, condition) => {
        if (down) throw new Error("disk full");
        return inner.delete(id, condition);
      },
    };
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    const errors: Error[] = [];
    sm.on("error", (e) => errors.push(e));
    await sm.add("a", { ttl: "1m" });
    down = true;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(errors.map((e) => e.message)).toEqual(["flaky store failed: disk full"]);
    expect(inner.get("a")).toBeDefined();
    down = false;
    const expired = vi.fn();
    sm.onExpired(expired);
    await vi.advanceTimersByTimeAsync(5000);
    expect(expired).toHaveBeenCalledOnce();
    expect(inner.get("a")).toBeUndefined();
  });
});

describe("a store that cannot open", () => {
  it("without fallback (a server store) is reported, never replaced by memory", async () => {
    const inner = memoryStore();
    let down = true;
    const store: SessionStore = {
      ...inner,
      name: "postgres-like",
      open() {
        if (down) throw new Error("ECONNREFUSED");
      },
      get(id) {
        if (down) throw new Error("ECONNREFUSED");
        return inner.get(id);
      },
    };
    const sm = new SessionManager({ backend: store });
    const errors: Error[] = [];
    const degraded = vi.fn();
    sm.on("error", (e) => errors.push(e));
    sm.on("degraded", degraded);
    await sm.ready;
    expect(sm.status).toBe("ready");
    expect(degraded).not.toHaveBeenCalled();
    expect(errors.map((e) => e.message)).toEqual(["postgres-like store failed: ECONNREFUSED"]);
    await expect(sm.get("a")).rejects.toBeInstanceOf(BackendError);
    down = false; // the service is back: calls work again
    await sm.add("a");
    expect(await sm.has("a")).toBe(true);
  });
});
