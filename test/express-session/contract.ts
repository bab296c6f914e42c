// The express-session Store contract, run against SessionManagerStore on each backend: what
// express-session calls (get, set, destroy, touch, all, length, clear, ids), with callbacks as it
// passes them, and what it needs of the answers (JSON data it can rebuild its cookie from).
import { afterAll, describe, expect, it } from "vitest";
import { SessionManagerStore } from "../../src/express-session/index.ts";
import type { SessionManagerOptions } from "../../src/node.ts";
import { runId } from "../helpers/services.ts";

/** A session as express-session hands it to `set`, once JSON (a cookie that ends in `ms`). */
export function sessionFor(ms: number | null, data: Record<string, unknown> = {}) {
  const expires = ms === null ? null : new Date(Date.now() + ms).toISOString();
  return {
    cookie: { originalMaxAge: ms, expires, secure: false, httpOnly: true, path: "/" },
    ...data,
  } as never;
}

/** Calls `method` in the callback style; resolves to what the callback got, checking it ran once, later. */
export function called<T>(
  run: (callback: (error: unknown, value?: T) => void) => void,
): Promise<{ error: unknown; value: T | undefined }> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    let returned = false;
    run((error, value) => {
      calls++;
      if (!returned) reject(new Error("the callback ran synchronously"));
      // A second call would arrive after this resolution: checked by a later tick.
      setTimeout(() => (calls === 1 ? resolve({ error, value }) : reject(new Error("twice"))), 5);
    });
    returned = true;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The contract on the backend `options` give (each store gets a namespace of its own); `shared`:
 * two stores on one namespace see the same sessions (all but memory).
 */
export function storeContract(
  name: string,
  options: () => SessionManagerOptions,
  { shared = true } = {},
): void {
  describe(`SessionManagerStore on ${name}`, () => {
    const stores: SessionManagerStore[] = [];
    const make = (extra: Record<string, unknown> = {}, namespace = runId()) => {
      const store = new SessionManagerStore({ ...options(), namespace, ...extra } as never);
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of stores) {
        await store.clear().catch(() => {});
        await store.close();
      }
    });

    it("get: no session is null, by callback, later and once", async () => {
      const store = make();
      expect(await called((cb) => store.get("nobody", cb))).toEqual({ error: null, value: null });
      expect(await store.get("nobody")).toBeNull();
    });

    it("set then get: the data round-trips exactly as JSON, as a copy express-session may change", async () => {
      const store = make();
      const data = { user: { name: "Ada ✓", roles: ["admin"] }, n: 1.5, ok: true, none: null };
      const session = sessionFor(60_000, data);
      expect(await called((cb) => store.set("s1", session, cb))).toEqual({
        error: null,
        value: undefined,
      });
      const { value } = await called<Record<string, unknown>>((cb) => store.get("s1", cb as never));
      expect(value).toEqual(JSON.parse(JSON.stringify(session)));
      (value as { cookie: unknown }).cookie = "changed";
      expect(((await store.get("s1")) as { cookie: unknown }).cookie).toEqual(
        JSON.parse(JSON.stringify(session)).cookie,
      );
    });

    it("set replaces the data and moves the expiry to the cookie's", async () => {
      const store = make();
      await store.set("s1", sessionFor(60_000, { step: 1 }));
      await store.set("s1", sessionFor(3_600_000, { step: 2 }));
      expect(await store.get("s1")).toMatchObject({ step: 2 });
      const stored = await store.manager.get("s1");
      expect(stored?.expiresAt).toBeGreaterThan(Date.now() + 3_590_000);
      expect(stored?.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    });

    it("ttl from the cookie: the session ends when its cookie does", async () => {
      const store = make();
      await store.set("short", sessionFor(300));
      expect(await store.get("short")).not.toBeNull();
      await sleep(450);
      expect(await store.get("short")).toBeNull();
      expect(await store.length()).toBe(0);
    });

    it("a cookie without expiry: the store's ttl (86400 s by default, or `ttl` in seconds)", async () => {
      const byDefault = make();
      await byDefault.set("s", sessionFor(null));
      const day = (await byDefault.manager.get("s"))?.expiresAt ?? 0;
      expect(day - Date.now()).toBeGreaterThan(86_390_000);
      expect(day - Date.now()).toBeLessThanOrEqual(86_400_000);
      const hour = make({ ttl: 3600 });
      await hour.set("s", sessionFor(null));
      const at = (await hour.manager.get("s"))?.expiresAt ?? 0;
      expect(at - Date.now()).toBeGreaterThan(3_590_000);
      expect(at - Date.now()).toBeLessThanOrEqual(3_600_000);
    });

    it("set with a cookie that has already expired destroys the session", async () => {
      const store = make();
      await store.set("s", sessionFor(60_000, { a: 1 }));
      await store.set("s", sessionFor(-1000, { a: 2 }));
      expect(await store.get("s")).toBeNull();
      expect(await store.ids()).toEqual([]);
    });

    it("touch moves the expiry to the cookie's and keeps the data; a missing session stays missing", async () => {
      const store = make();
      await store.set("s", sessionFor(500, { kept: "yes" }));
      await store.touch("s", sessionFor(60_000, { kept: "ignored" }));
      await sleep(600);
      expect(await store.get("s")).toMatchObject({ kept: "yes" });
      expect(await called((cb) => store.touch("ghost", sessionFor(60_000), cb))).toEqual({
        error: null,
        value: undefined,
      });
      expect(await store.get("ghost")).toBeNull();
    });

    it("disableTouch: touch changes nothing, set still takes the cookie's expiry", async () => {
      const store = make({ disableTouch: true });
      await store.set("s", sessionFor(60_000));
      const before = (await store.manager.get("s"))?.expiresAt;
      await store.touch("s", sessionFor(3_600_000));
      expect((await store.manager.get("s"))?.expiresAt).toBe(before);
      await store.set("s", sessionFor(3_600_000));
      expect((await store.manager.get("s"))?.expiresAt).toBeGreaterThan(Date.now() + 3_590_000);
    });

    it("destroy ends the session; destroying a missing one is no error", async () => {
      const store = make();
      await store.set("s", sessionFor(60_000));
      expect(await called((cb) => store.destroy("s", cb))).toEqual({
        error: null,
        value: undefined,
      });
      expect(await store.get("s")).toBeNull();
      expect((await called((cb) => store.destroy("s", cb))).error).toBeNull();
    });

    it("all, ids, length and clear see only the store's namespace", async () => {
      const namespace = runId();
      const store = make({}, namespace);
      const other = make();
      await store.set("a", sessionFor(60_000, { n: 1 }));
      await store.set("b", sessionFor(60_000, { n: 2 }));
      await other.set("c", sessionFor(60_000, { n: 3 }));
      const { value: all } = await called<{ id: string; n: number }[]>((cb) =>
        store.all(cb as never),
      );
      expect(all?.map(({ id, n }) => [id, n]).sort()).toEqual([
        ["a", 1],
        ["b", 2],
      ]);
      expect((await called<string[]>((cb) => store.ids(cb))).value?.sort()).toEqual(["a", "b"]);
      expect(await called((cb) => store.length(cb))).toEqual({ error: null, value: 2 });
      // Another store on the same namespace (another process) sees the same sessions.
      if (shared) expect((await make({}, namespace).ids()).sort()).toEqual(["a", "b"]);
      expect((await called((cb) => store.clear(cb))).error).toBeNull();
      expect(await store.length()).toBe(0);
      expect(await other.ids()).toEqual(["c"]);
    });

    it("parallel requests of one user: their sets and touches all succeed, the last set wins", async () => {
      const namespace = runId();
      const store = make({}, namespace);
      // Other processes on the same sessions, where the backend is shared.
      const others = shared ? [make({}, namespace), make({}, namespace)] : [store, store];
      await store.set("s", sessionFor(60_000, { n: -1 }));
      const all = [store, ...others];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const on = all[i % all.length] as SessionManagerStore;
          return i % 2 === 0
            ? called((cb) => on.set("s", sessionFor(3_600_000, { n: i }), cb))
            : called((cb) => on.touch("s", sessionFor(7_200_000), cb));
        }),
      );
      expect(results.map((r) => r.error)).toEqual(Array(12).fill(null));
      const final = (await store.get("s")) as { n: number } | null;
      expect([0, 2, 4, 6, 8, 10]).toContain(final?.n);
    });

    it("an invalid sid: a typed error to the callback, nothing stored", async () => {
      const store = make();
      for (const sid of ["", "a\0b", 42 as never as string]) {
        const { error } = await called((cb) => store.set(sid, sessionFor(60_000), cb));
        expect(error).toMatchObject({ code: "INVALID_ID", name: "InvalidSessionIdError" });
        expect((await called((cb) => store.get(sid, cb))).error).toMatchObject({
          code: "INVALID_ID",
        });
      }
      expect(await store.length()).toBe(0);
    });
  });
}
