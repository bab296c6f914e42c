import { describe, expect, it, vi } from "vitest";
import {
  BackendError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  SessionError,
  SessionExistsError,
  SessionManager,
  SessionNotFoundError,
} from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";

useFakeClock();

function manager(options: ConstructorParameters<typeof SessionManager>[0] = {}) {
  const store = memoryStore();
  const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0, ...options });
  return { sm, store };
}

describe("add", () => {
  it("returns a frozen session with every field", async () => {
    const { sm } = manager({ defaultTtl: "15m" });
    const session = await sm.add("user123", { data: { name: "Ada" } });
    expect(session).toEqual({
      id: "user123",
      data: { name: "Ada" },
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + 15 * 60_000,
      ttl: 15 * 60_000,
      version: 1,
    });
    expect(Object.isFrozen(session)).toBe(true);
    expect(Object.isFrozen(session.data)).toBe(true);
  });

  it("stores null when data is left out, and uses the session's own ttl", async () => {
    const { sm } = manager();
    const session = await sm.add("a", { ttl: "2h" });
    expect(session.data).toBeNull();
    expect(session.ttl).toBe(7_200_000);
    expect((await sm.add("b")).data).toBeNull();
  });

  it("keeps a copy: changing the caller's object later changes nothing", async () => {
    const { sm } = manager();
    const data = { roles: ["user"] };
    await sm.add("a", { data });
    data.roles.push("admin");
    expect((await sm.get("a"))?.data).toEqual({ roles: ["user"] });
  });

  it("refuses a live id with SessionExistsError and keeps the first session", async () => {
    const { sm } = manager();
    const first = await sm.add("a", { data: 1 });
    const error = await sm.add("a", { data: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionExistsError);
    expect(error).toMatchObject({ code: "SESSION_EXISTS", id: "a" });
    expect(await sm.get("a")).toBe(first);
  });

  it("reuses the id of an expired session that was not swept yet, ending it first", async () => {
    const { sm, store } = manager();
    const expired = vi.fn();
    sm.onExpired(expired);
    await sm.add("a", { ttl: "1s", data: "old" });
    vi.setSystemTime(T0 + 5000); // the clock moved; no timer has run
    const fresh = await sm.add("a", { data: "new" });
    expect(expired).toHaveBeenCalledOnce();
    expect(expired.mock.calls[0]?.[0]).toMatchObject({ data: "old" });
    expect(await store.get("a")).toBe(fresh);
  });
});

describe("bad input is refused with a typed error and changes nothing", () => {
  const badTtls: unknown[] = [
    0,
    -10,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "abc",
    "10x",
    "",
    "-5m",
    "5 minutes",
    null,
    true,
  ];
  it.each(badTtls)("ttl %s", async (ttl) => {
    const { sm, store } = manager();
    const error = await sm.add("a", { ttl: ttl as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTtlError);
    expect(error).toMatchObject({ code: "INVALID_TTL" });
    expect((error as Error).message).toMatch(/^ttl must be a positive duration, got /);
    expect(store.list()).toEqual([]);
  });

  it("says what was given", async () => {
    const { sm } = manager();
    await expect(sm.add("a", { ttl: -10 })).rejects.toThrow(
      "ttl must be a positive duration, got -10",
    );
    await expect(sm.add("a", { ttl: "10x" as never })).rejects.toThrow('got "10x"');
  });

  const badIds: unknown[] = ["", 42, null, undefined, {}, "x".repeat(257)];
  it.each(badIds)("id %s", async (id) => {
    const { sm, store } = manager();
    for (const call of [
      () => sm.add(id as string),
      () => sm.get(id as string),
      () => sm.has(id as string),
      () => sm.touch(id as string),
      () => sm.update(id as string, 1),
      () => sm.remove(id as string),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(InvalidSessionIdError);
    }
    expect(store.list()).toEqual([]);
  });

  it("accepts an id of exactly 256 characters", async () => {
    const { sm } = manager();
    const id = "x".repeat(256);
    await sm.add(id);
    expect(await sm.has(id)).toBe(true);
  });

  it("refuses data JSON cannot hold, at add and at update", async () => {
    const { sm, store } = manager();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = [
      () => 1,
      10n,
      Symbol("s"),
      cyclic,
      { nested: { fn: () => 1 } },
      new Map(),
      new Set([1]),
      Promise.resolve(1),
    ];
    for (const data of bad) {
      await expect(sm.add("a", { data })).rejects.toBeInstanceOf(InvalidDataError);
    }
    expect(store.list()).toEqual([]);
    const kept = await sm.add("a", { data: { ok: true } });
    for (const data of bad.slice(1)) {
      await expect(sm.update("a", data)).rejects.toBeInstanceOf(InvalidDataError);
    }
    await expect(sm.update("a", () => ({ fn: () => 1 }))).rejects.toThrow(
      "data must be JSON-serialisable, got a function at data.fn",
    );
    expect(await sm.get("a")).toBe(kept);
  });

  it("refuses unknown ids for getOrThrow, touch and update", async () => {
    const { sm, store } = manager();
    await expect(sm.getOrThrow("nobody")).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(sm.touch("nobody")).rejects.toMatchObject({
      code: "SESSION_NOT_FOUND",
      id: "nobody",
    });
    await expect(sm.update("nobody", 1)).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(store.list()).toEqual([]);
  });

  it("refuses a bad touch ttl and keeps expiresAt", async () => {
    const { sm } = manager();
    const before = await sm.add("a");
    await expect(sm.touch("a", 0)).rejects.toBeInstanceOf(InvalidTtlError);
    expect(await sm.get("a")).toBe(before);
  });

  it("refuses a ttl whose expiresAt would not be a valid Date, in add and touch, and stores nothing", async () => {
    const { sm, store } = manager();
    const tooLong = 864e13; // a valid duration alone, but now + it is past the last valid Date
    await expect(sm.add("a", { ttl: tooLong })).rejects.toMatchObject({
      code: "INVALID_TTL",
      message: `ttl of ${tooLong} ms would end after the latest date a Date can hold (+275760-09-13T00:00:00.000Z)`,
    });
    expect(store.list()).toEqual([]);
    const before = await sm.add("a");
    await expect(sm.touch("a", tooLong)).rejects.toBeInstanceOf(InvalidTtlError);
    expect(await sm.get("a")).toBe(before);
    expect(
      new Date((await sm.touch("a", 864e13 - Date.now() - 60_000)).expiresAt).getTime(),
    ).not.toBeNaN();
  });

  it("refuses bad options at construction", () => {
    expect(() => new SessionManager({ defaultTtl: 0 })).toThrow(
      "defaultTtl must be a positive duration, got 0",
    );
    expect(() => new SessionManager({ warnBefore: -1 })).toThrow(InvalidTtlError);
    expect(() => new SessionManager({ backend: "memcache" as never })).toThrow(BackendError);
  });
});

describe("reads", () => {
  it("treats an expired session as absent before any sweep ran", async () => {
    const { sm, store } = manager();
    await sm.add("a", { ttl: "1m" });
    vi.setSystemTime(T0 + 60_000);
    expect(await sm.get("a")).toBeUndefined();
    expect(await sm.has("a")).toBe(false);
    expect(await sm.list()).toEqual([]);
    await expect(sm.getOrThrow("a")).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(store.list()).toHaveLength(1); // still stored: only the sweep frees space
  });

  it("lists only live sessions", async () => {
    const { sm } = manager();
    await sm.add("short", { ttl: "1m" });
    await sm.add("long", { ttl: "1h" });
    vi.setSystemTime(T0 + 120_000);
    expect((await sm.list()).map((s) => s.id)).toEqual(["long"]);
  });
});

describe("touch, update, remove, clear", () => {
  it("touch moves expiresAt from now, bumps the version and keeps ttl", async () => {
    const { sm } = manager({ defaultTtl: "10m" });
    await sm.add("a");
    vi.setSystemTime(T0 + 60_000);
    const touched = await sm.touch("a");
    expect(touched).toMatchObject({
      expiresAt: T0 + 60_000 + 600_000,
      version: 2,
      ttl: 600_000,
      updatedAt: T0 + 60_000,
      createdAt: T0,
    });
    const longer = await sm.touch("a", "1h");
    expect(longer).toMatchObject({ expiresAt: T0 + 60_000 + 3_600_000, version: 3, ttl: 600_000 });
  });

  it("touch of an expired session is SessionNotFoundError", async () => {
    const { sm } = manager();
    await sm.add("a", { ttl: "1s" });
    vi.setSystemTime(T0 + 1000);
    await expect(sm.touch("a")).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it("update replaces data or applies a function, keeping expiresAt", async () => {
    const { sm } = manager();
    const added = await sm.add("a", { data: { n: 1 } });
    vi.setSystemTime(T0 + 1000);
    const replaced = await sm.update("a", { n: 2 });
    expect(replaced).toMatchObject({
      data: { n: 2 },
      version: 2,
      expiresAt: added.expiresAt,
      updatedAt: T0 + 1000,
    });
    const applied = await sm.update("a", (old) => ({ n: (old as { n: number }).n + 1 }));
    expect(applied).toMatchObject({ data: { n: 3 }, version: 3, expiresAt: added.expiresAt });
    const cleared = await sm.update("a", null);
    expect(cleared.data).toBeNull();
  });

  it("remove ends a live session and says whether there was one", async () => {
    const { sm, store } = manager();
    await sm.add("a");
    expect(await sm.remove("a")).toBe(true);
    expect(await sm.remove("a")).toBe(false);
    expect(await sm.get("a")).toBeUndefined();
    expect(store.list()).toEqual([]);
  });

  it("clear removes everything, purgeExpired only the expired", async () => {
    const { sm } = manager();
    await sm.add("a", { ttl: "1m" });
    await sm.add("b", { ttl: "1h" });
    vi.setSystemTime(T0 + 120_000);
    expect(await sm.purgeExpired()).toBe(1);
    expect(await sm.purgeExpired()).toBe(0);
    expect((await sm.list()).map((s) => s.id)).toEqual(["b"]);
    await sm.clear();
    expect(await sm.list()).toEqual([]);
  });
});

describe("close", () => {
  it("makes every method reject with code CLOSED and stops the timer", async () => {
    const { sm } = manager({ warnBefore: "1m" });
    await sm.add("a");
    expect(vi.getTimerCount()).toBe(1);
    await sm.close();
    await sm.close(); // twice is fine
    expect(vi.getTimerCount()).toBe(0);
    const calls = [
      () => sm.add("b"),
      () => sm.get("a"),
      () => sm.getOrThrow("a"),
      () => sm.has("a"),
      () => sm.touch("a"),
      () => sm.update("a", 1),
      () => sm.remove("a"),
      () => sm.list(),
      () => sm.clear(),
      () => sm.purgeExpired(),
    ];
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      expect(error).toMatchObject({ code: "CLOSED" });
    }
  });

  it("closes the store", async () => {
    const store = { ...memoryStore(), close: vi.fn() };
    const sm = new SessionManager({ backend: store });
    await sm.close();
    expect(store.close).toHaveBeenCalledOnce();
  });
});

describe("ready and status", () => {
  it("is loading until stored sessions are read, then ready", async () => {
    const store = memoryStore();
    const sm = new SessionManager({ backend: store });
    expect(sm.status).toBe("loading");
    await sm.ready;
    expect(sm.status).toBe("ready");
  });

  it("schedules the sessions a store already holds", async () => {
    const store = memoryStore();
    store.set({
      id: "kept",
      data: null,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + 5000,
      ttl: 5000,
      version: 1,
    });
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    const expired = vi.fn();
    sm.onExpired(expired);
    await sm.ready;
    await vi.advanceTimersByTimeAsync(5000);
    expect(expired).toHaveBeenCalledOnce();
    expect(store.get("kept")).toBeUndefined();
  });
});

describe("ids every store can hold, and data depth (issue 11, findings 4 and 5)", () => {
  const unstorable = [
    ["a NUL", "a\u0000b"],
    ["only a NUL", "\u0000"],
    ["a lone high surrogate", "user\uD83D"],
    ["a lone low surrogate", "\uDE00user"],
    ["surrogates in the wrong order", "\uDE00\uD83D"],
  ];
  it.each(unstorable)(
    "refuses an id with %s, in every method, and writes nothing",
    async (_, id) => {
      const { sm, store } = manager();
      for (const call of [
        () => sm.add(id),
        () => sm.get(id),
        () => sm.has(id),
        () => sm.touch(id),
        () => sm.update(id, 1),
        () => sm.remove(id),
      ]) {
        await expect(call()).rejects.toThrow(
          new InvalidSessionIdError(
            "id must be 1 to 256 characters, no NUL or lone surrogate, got a NUL or lone surrogate",
          ),
        );
      }
      expect(store.list()).toEqual([]);
    },
  );

  it("takes ids with astral characters (surrogate pairs) and other control characters", async () => {
    const { sm } = manager();
    for (const id of ["😀", "a\u0001b", "\uFFFF", `${"😀".repeat(128)}`]) {
      await sm.add(id);
      expect(await sm.has(id)).toBe(true);
    }
    await expect(sm.add(`${"😀".repeat(128)}x`)).rejects.toThrow(
      "id must be 1 to 256 characters, no NUL or lone surrogate, got 257 characters",
    );
  });

  it("refuses data deeper than 64 levels at add and update with InvalidDataError, not RangeError", async () => {
    const { sm, store } = manager();
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    await expect(sm.add("a", { data: nested(1_900) })).rejects.toBeInstanceOf(InvalidDataError);
    await expect(sm.add("a", { data: nested(65) })).rejects.toThrow("more than 64 levels");
    expect(store.list()).toEqual([]);
    const kept = await sm.add("a", { data: nested(64) });
    await expect(sm.update("a", nested(100_000))).rejects.toBeInstanceOf(InvalidDataError);
    await expect(sm.update("a", () => nested(65))).rejects.toBeInstanceOf(InvalidDataError);
    expect(await sm.get("a")).toBe(kept);
  });
});
