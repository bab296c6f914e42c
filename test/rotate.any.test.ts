// Session-id rotation and the absolute lifetime (OWASP's session fixation and absolute timeout):
// `rotate(id)` and `add(id, { maxAge })`, on the memory store, in every runtime.
import { describe, expect, it, vi } from "vitest";
import {
  ConflictError,
  InvalidTtlError,
  SessionManager,
  SessionNotFoundError,
} from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionRecord, SessionStore } from "../src/stores/types.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";

useFakeClock();
const MINUTE = 60_000;

function manager(options: ConstructorParameters<typeof SessionManager>[0] = {}) {
  const store = memoryStore();
  const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0, ...options });
  return { sm, store };
}

/** Every event `sm` fires, with its arguments' ids. */
function recorded(sm: SessionManager<unknown>) {
  const events: unknown[][] = [];
  for (const name of [
    "added",
    "removed",
    "updated",
    "touched",
    "expired",
    "expiringSoon",
  ] as const) {
    sm.on(name, (session: { id: string }) => events.push([name, session.id]));
  }
  sm.on("rotated", (session, previousId) => events.push(["rotated", session.id, previousId]));
  return events;
}

describe("maxAge", () => {
  it("caps expiresAt at createdAt + maxAge from the start, and keeps maxAge on the session", async () => {
    const { sm, store } = manager();
    const short = await sm.add("a", { ttl: "30m", maxAge: "10m" });
    expect(short).toMatchObject({
      createdAt: T0,
      expiresAt: T0 + 10 * MINUTE,
      maxAge: 10 * MINUTE,
    });
    const long = await sm.add("b", { ttl: "10m", maxAge: 8 * 3_600_000 });
    expect(long.expiresAt).toBe(T0 + 10 * MINUTE);
    expect(store.get("b")).toEqual(long);
    expect("maxAge" in (await sm.add("c"))).toBe(false);
  });

  it("no touch or update moves expiresAt past createdAt + maxAge; at the cap it still expires", async () => {
    const { sm } = manager();
    const expired = vi.fn();
    sm.onExpired(expired);
    await sm.add("a", { ttl: "10m", maxAge: "25m" });
    await vi.advanceTimersByTimeAsync(8 * MINUTE);
    expect((await sm.touch("a")).expiresAt).toBe(T0 + 18 * MINUTE);
    await vi.advanceTimersByTimeAsync(8 * MINUTE);
    const capped = await sm.touch("a", "1h");
    expect(capped).toMatchObject({ expiresAt: T0 + 25 * MINUTE, version: 3, maxAge: 25 * MINUTE });
    const updated = await sm.update("a", { more: true });
    expect(updated).toMatchObject({ expiresAt: T0 + 25 * MINUTE, maxAge: 25 * MINUTE });
    await vi.advanceTimersByTimeAsync(8 * MINUTE);
    expect((await sm.touch("a")).expiresAt).toBe(T0 + 25 * MINUTE);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(await sm.get("a")).toBeUndefined();
    expect(expired).toHaveBeenCalledTimes(1);
    await expect(sm.touch("a")).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it.each([0, -1, "soon", Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses a maxAge of %s with InvalidTtlError naming maxAge, storing nothing",
    async (maxAge) => {
      const { sm, store } = manager();
      const added = sm.add("a", { maxAge: maxAge as number });
      await expect(added).rejects.toBeInstanceOf(InvalidTtlError);
      await expect(added).rejects.toThrow(/^maxAge must be a positive duration, got/);
      expect(store.list()).toEqual([]);
    },
  );
});

describe("rotate", () => {
  it("moves a live session to a fresh id: same data, createdAt, expiry, ttl and maxAge; the old id gone", async () => {
    const { sm, store } = manager();
    const before = await sm.add("anon", { data: { cart: [1] }, ttl: "30m", maxAge: "8h" });
    await vi.advanceTimersByTimeAsync(MINUTE);
    await sm.touch("anon");
    const touched = await sm.getOrThrow("anon");
    await vi.advanceTimersByTimeAsync(MINUTE);
    const moved = await sm.rotate("anon");
    expect(moved.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(moved).toEqual({
      id: moved.id,
      data: { cart: [1] },
      createdAt: before.createdAt,
      updatedAt: T0 + 2 * MINUTE,
      expiresAt: touched.expiresAt,
      ttl: 30 * MINUTE,
      version: 1,
      maxAge: 8 * 3_600_000,
    });
    expect(Object.isFrozen(moved)).toBe(true);
    expect(await sm.get("anon")).toBeUndefined();
    expect(store.get("anon")).toBeUndefined();
    expect(await sm.get(moved.id)).toEqual(moved);
    expect((await sm.list()).map((s) => s.id)).toEqual([moved.id]);
    // The old id is free, as after a remove: a new session may take it.
    await sm.add("anon");
    expect((await sm.rotate(moved.id)).id).not.toBe(moved.id);
  });

  it("fires one rotated (session, previousId), not added and removed", async () => {
    const { sm } = manager();
    await sm.add("anon");
    const events = recorded(sm);
    const moved = await sm.rotate("anon");
    expect(events).toEqual([["rotated", moved.id, "anon"]]);
  });

  it("warns and expires the new id as the old would have been, and never the old id", async () => {
    const { sm } = manager({ warnBefore: "1m" });
    await sm.add("anon", { ttl: "10m" });
    const events = recorded(sm);
    await vi.advanceTimersByTimeAsync(9.5 * MINUTE); // warned already
    expect(events).toEqual([["expiringSoon", "anon"]]);
    const moved = await sm.rotate("anon");
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(events).toEqual([
      ["expiringSoon", "anon"],
      ["rotated", moved.id, "anon"],
      ["expired", moved.id],
    ]);
    // Rotated before its warning: the new id is warned once, at the same time.
    const second = await sm.add("b", { ttl: "10m" });
    const next = await sm.rotate(second.id);
    events.length = 0;
    await vi.advanceTimersByTimeAsync(9 * MINUTE);
    expect(events).toEqual([["expiringSoon", next.id]]);
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(events).toEqual([
      ["expiringSoon", next.id],
      ["expired", next.id],
    ]);
  });

  it("rejects with SessionNotFoundError for an id with no live session, changing nothing", async () => {
    const { sm, store } = manager();
    await expect(sm.rotate("nobody")).rejects.toBeInstanceOf(SessionNotFoundError);
    await sm.add("old", { ttl: "1m" });
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    await expect(sm.rotate("old")).rejects.toBeInstanceOf(SessionNotFoundError);
    expect((store.list() as SessionRecord[]).filter((r) => r.id !== "old")).toEqual([]);
  });

  it("starts over when the old id changes between its read and its delete, losing no write", async () => {
    const inner = memoryStore();
    let meddle = true;
    const store: SessionStore = {
      ...inner,
      async delete(id, condition) {
        // Another writer updates the old id just before the rotation deletes it, once.
        if (meddle && id === "anon") {
          meddle = false;
          const current = inner.get(id) as SessionRecord;
          inner.set({ ...current, data: "theirs", version: current.version + 1 });
        }
        return inner.delete(id, condition);
      },
    };
    const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
    await sm.add("anon", { data: "mine" });
    const moved = await sm.rotate("anon");
    expect(moved.data).toBe("theirs");
    expect((inner.list() as SessionRecord[]).map((r) => r.id)).toEqual([moved.id]);
  });

  it("fails with ConflictError when the old id never stops changing, and leaves it as it is", async () => {
    const inner = memoryStore();
    const store: SessionStore = {
      ...inner,
      async delete(id, condition) {
        if (id === "anon") {
          const current = inner.get(id) as SessionRecord;
          inner.set({ ...current, version: current.version + 1 });
        }
        return inner.delete(id, condition);
      },
    };
    const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
    await sm.add("anon", { data: "mine" });
    await expect(sm.rotate("anon")).rejects.toBeInstanceOf(ConflictError);
    expect((inner.list() as SessionRecord[]).map((r) => [r.id, r.data])).toEqual([
      ["anon", "mine"],
    ]);
  });

  it("keeps the session under its old id when the store fails to delete it", async () => {
    const inner = memoryStore();
    const store: SessionStore = {
      ...inner,
      async delete(id, condition) {
        if (id === "anon") throw new Error("store down");
        return inner.delete(id, condition);
      },
    };
    const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
    const added = await sm.add("anon", { data: "mine" });
    await expect(sm.rotate("anon")).rejects.toThrow(/store down/);
    expect(inner.list()).toEqual([added]);
    expect(await sm.get("anon")).toEqual(added);
  });
});
