// The contract every SessionStore must meet, run unchanged against each backend:
// `testStore({ name, create })` in the spirit of unstorage's test/drivers/utils.ts.
import { afterEach, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { cachedStore } from "../../src/stores/cached.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";

export interface StoreTestOptions {
  name: string;
  /** A fresh, empty store of the given namespace. Stores of different namespaces may share space. */
  create: (namespace: string) => SessionStore | Promise<SessionStore>;
  /**
   * The store's server sets versions and times itself (the remote store: 1 on create, one more
   * per change): the tests read them back instead of expecting the ones they wrote.
   */
  serverAssigned?: boolean;
  /**
   * A second store on the data of `create(namespace)`: another connection, pool or object on the
   * same server, database or file. Given, the two race each other for every id.
   */
  twin?: (namespace: string) => SessionStore | Promise<SessionStore>;
  /**
   * Run the suite a second time with the store behind `cachedStore` (and its twin behind a cache
   * of its own, as another process would have). Default true; false for a store that is itself
   * a cache, or whose server assigns versions (a cache keeps the record as written).
   */
  cached?: boolean;
}

let sequence = 0;

/** How many ids two stores on the same data race for: each id by both at once, all ids at once. */
const RACES = 200;

type Make = (namespace: string) => SessionStore | Promise<SessionStore>;

/** `make`'s store behind a read cache of its own. */
const cached =
  (make: Make): Make =>
  async (namespace) =>
    cachedStore(await make(namespace), { max: 100 });

/** The contract, run on `create`'s stores and again on the same stores behind `cachedStore`. */
export function testStore(options: StoreTestOptions): void {
  suite(options);
  const { name, create, twin, serverAssigned = false } = options;
  if (options.cached ?? !serverAssigned) {
    suite({
      ...options,
      name: `cached ${name}`,
      create: cached(create),
      ...(twin ? { twin: cached(twin) } : {}),
    });
  }
}

function suite({ name, create, serverAssigned = false, twin }: StoreTestOptions): void {
  describe(`store conformance: ${name}`, () => {
    const opened: SessionStore[] = [];
    const reported: Error[] = [];
    const open = async (namespace = `t${++sequence}`, make = create): Promise<SessionStore> => {
      const store = await make(namespace);
      await store.open?.({ report: (error) => reported.push(error) });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) {
        await store.clear();
        await store.close?.();
      }
      // A store reports only what it had to skip, and these tests write nothing unreadable.
      expect(reported.splice(0)).toEqual([]);
    });

    it("has a name", async () => {
      const store = await open();
      expect(typeof store.name).toBe("string");
      expect(store.name.length).toBeGreaterThan(0);
    });

    it("returns undefined for an unknown id", async () => {
      const store = await open();
      expect(await store.get("nobody")).toBeUndefined();
    });

    it("keeps every field of a record and JSON data of every kind", async () => {
      const store = await open();
      const data = {
        text: "quotes \" and ' commas, newlines\nand tabs\t",
        unicode: "émoji 🎉 中文",
        numbers: [0, -1.5, 1e21],
        nested: { deep: { deeper: [true, false, null] } },
        empty: {},
      };
      const record = rec("user:1", { data, ttl: 1234, version: 7 });
      expect(await store.set(record)).toBe(true);
      if (serverAssigned) {
        // Times go through the server's clock and back: equal up to the offset's estimate.
        const { id, ttl, expiresAt } = record;
        const got = await store.get("user:1");
        expect(got).toMatchObject({ id, data, ttl, version: 1 });
        expect(Math.abs((got?.expiresAt ?? 0) - expiresAt)).toBeLessThan(1000);
      } else expect(await store.get("user:1")).toEqual(record);
    });

    it("keeps the encrypted flag of a record whose data is a JWE", async () => {
      const store = await open();
      const sealed = rec("sealed", {
        data: "eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn",
        encrypted: true,
      });
      await store.set(sealed);
      expect(await store.get("sealed")).toEqual(sealed);
      expect((await store.list()).find((r) => r.id === "sealed")?.encrypted).toBe(true);
    });

    it("keeps a record's maxAge through writes and lists, and its absence too", async () => {
      const store = await open();
      const capped = rec("capped", { maxAge: 3_600_000 });
      const plain = rec("plain");
      expect(await store.set(capped, { ifAbsent: true })).toBe(true);
      expect(await store.set(plain, { ifAbsent: true })).toBe(true);
      const maxAges = async () =>
        (await store.list()).map((r) => [r.id, "maxAge" in r ? r.maxAge : "none"]).sort();
      expect(await maxAges()).toEqual([
        ["capped", 3_600_000],
        ["plain", "none"],
      ]);
      if (!serverAssigned) expect(await store.get("capped")).toEqual(capped);
      const version = (await store.get("capped"))?.version ?? 0;
      const next = { ...capped, data: "changed", version: version + 1 };
      expect(await store.set(next, { ifVersion: version })).toBe(true);
      expect((await store.get("capped"))?.maxAge).toBe(3_600_000);
      // A write without it takes the cap away (the record is written whole); a session server
      // keeps it (a replace may lower a session's cap, never lift it).
      if (serverAssigned) return;
      const { maxAge: _, ...uncapped } = next;
      expect(
        await store.set({ ...uncapped, version: version + 2 }, { ifVersion: version + 1 }),
      ).toBe(true);
      expect(await maxAges()).toEqual([
        ["capped", "none"],
        ["plain", "none"],
      ]);
    });

    it("keeps ids that are awkward for keys and files", async () => {
      const store = await open();
      const ids = ["a b", "a/b\\c", "ünï", "x".repeat(256), "a,b;c\"'", "🎉"];
      for (const id of ids) await store.set(rec(id, { data: id }));
      for (const id of ids) expect((await store.get(id))?.data).toBe(id);
      expect((await store.list()).map((r) => r.id).sort()).toEqual([...ids].sort());
    });

    it("writes with ifAbsent only when the id is absent", async () => {
      const store = await open();
      expect(await store.set(rec("a", { data: "first" }), { ifAbsent: true })).toBe(true);
      expect(await store.set(rec("a", { data: "second" }), { ifAbsent: true })).toBe(false);
      expect((await store.get("a"))?.data).toBe("first");
    });

    it("writes with ifVersion only at that version", async () => {
      const store = await open();
      await store.set(rec("a", { version: 3, data: "v3" }));
      const v = serverAssigned ? 1 : 3;
      expect((await store.get("a"))?.version).toBe(v);
      expect(
        await store.set(rec("a", { version: v + 1, data: "stale" }), { ifVersion: v - 1 }),
      ).toBe(false);
      expect((await store.get("a"))?.data).toBe("v3");
      expect(await store.set(rec("a", { version: v + 1, data: "v4" }), { ifVersion: v })).toBe(
        true,
      );
      expect(await store.get("a")).toMatchObject({ version: v + 1, data: "v4" });
      expect(await store.set(rec("b"), { ifVersion: 1 })).toBe(false);
      expect(await store.get("b")).toBeUndefined();
    });

    it("overwrites without a condition", async () => {
      const store = await open();
      await store.set(rec("a", { data: 1 }));
      await store.set(rec("a", { data: 2, version: 9 }));
      expect(await store.get("a")).toMatchObject({ data: 2, version: serverAssigned ? 2 : 9 });
    });

    it("deletes, reporting whether something was deleted", async () => {
      const store = await open();
      await store.set(rec("a"));
      expect(await store.delete("a")).toBe(true);
      expect(await store.get("a")).toBeUndefined();
      expect(await store.delete("a")).toBe(false);
    });

    it("deletes with ifVersion only at that version", async () => {
      const store = await open();
      await store.set(rec("a", { version: 2 }));
      const v = serverAssigned ? 1 : 2;
      expect(await store.delete("a", { ifVersion: v + 1 })).toBe(false);
      expect(await store.get("a")).toBeDefined();
      expect(await store.delete("a", { ifVersion: v })).toBe(true);
      expect(await store.get("a")).toBeUndefined();
    });

    it("lists every record, clears them all", async () => {
      const store = await open();
      await store.set(rec("a"));
      await store.set(rec("b", { expiresAt: Date.now() + 10 }));
      expect((await store.list()).map((r) => r.id).sort()).toEqual(["a", "b"]);
      await store.clear();
      expect(await store.list()).toEqual([]);
      expect(await store.get("a")).toBeUndefined();
    });

    it("lists by id prefix (listPrefix, or list as the server falls back to)", async () => {
      const store = await open();
      // What the server does for an owner: listPrefix where the store has it (optional).
      const byPrefix = async (prefix: string) =>
        store.listPrefix
          ? await store.listPrefix(prefix)
          : (await store.list()).filter((r) => r.id.startsWith(prefix));
      for (const id of ["alice/1", "alice/2", "alice2/1", "bob/1", "alic", "alice%2F/1"]) {
        await store.set(rec(id));
      }
      const ids = (await byPrefix("alice/")).map((r) => r.id).sort();
      expect(ids).toEqual(["alice/1", "alice/2"]);
      expect(await byPrefix("nobody/")).toEqual([]);
    });

    it("counts the live records of a prefix, up to a bound, when it can (count)", async () => {
      const store = await open();
      if (!store.count) return;
      const now = Date.now();
      for (const id of ["alice/1", "alice/2", "alice/3", "alice2/1", "alic", "alice%2F/1"]) {
        await store.set(rec(id));
      }
      await store.set(rec("alice/old", { expiresAt: now }));
      await (await open()).set(rec("alice/4"));
      expect(await store.count({ prefix: "alice/", now })).toBe(3);
      expect(await store.count({ prefix: "alice/", now, upTo: 2 })).toBe(2);
      expect(await store.count({ prefix: "alice/", now: now - 1 })).toBe(4);
      expect(await store.count({ prefix: "nobody/", now })).toBe(0);
      expect(await store.count({ now })).toBe(6);
    });

    it("purges exactly the records that expired by the given time", async () => {
      const store = await open();
      const now = Date.now();
      await store.set(rec("gone", { expiresAt: now + 1000 }));
      await store.set(rec("edge", { expiresAt: now + 2000 }));
      await store.set(rec("kept", { expiresAt: now + 3000 }));
      const removed = await store.purgeExpired(now + 2000);
      expect(removed.map((r) => r.id).sort()).toEqual(["edge", "gone"]);
      expect((await store.list()).map((r) => r.id)).toEqual(["kept"]);
    });

    it("keeps namespaces apart, and clear touches only its own", async () => {
      const namespace = `t${++sequence}`;
      const a = await open(namespace);
      const b = await open();
      await a.set(rec("same", { data: "a" }));
      await b.set(rec("same", { data: "b" }));
      expect((await a.get("same"))?.data).toBe("a");
      // With a twin the two namespaces are shown to share the data (a twin of a's namespace reads
      // what a wrote) and still to be kept apart; without one, a store that ignored its namespace
      // would pass by being a separate store.
      if (twin) expect((await (await open(namespace, twin)).get("same"))?.data).toBe("a");
      await a.clear();
      expect(await a.get("same")).toBeUndefined();
      expect((await b.get("same"))?.data).toBe("b");
    });

    it("purges only its own namespace's records", async () => {
      const namespace = `t${++sequence}`;
      const a = await open(namespace);
      const b = await open();
      const now = Date.now();
      for (const store of [a, b]) {
        await store.set(rec("due", { expiresAt: now + 1000 }));
        await store.set(rec("kept", { expiresAt: now + 3000 }));
      }
      expect((await a.purgeExpired(now + 2000)).map((r) => r.id)).toEqual(["due"]);
      expect((await b.list()).map((r) => r.id).sort()).toEqual(["due", "kept"]);
      expect((await b.purgeExpired(now + 2000)).map((r) => r.id)).toEqual(["due"]);
      expect((await a.list()).map((r) => r.id)).toEqual(["kept"]);
      if (twin) {
        const other = await open(namespace, twin);
        expect((await other.list()).map((r) => r.id)).toEqual(["kept"]);
      }
    });

    it("serves a SessionManager: expired records read as absent and free the id", async () => {
      const store = await open();
      const sm = new SessionManager({ backend: store, warnBefore: 0 });
      await sm.ready;
      await store.set(rec("old", { expiresAt: Date.now() - 1, data: "old" }));
      expect(await sm.get("old")).toBeUndefined();
      expect(await sm.has("old")).toBe(false);
      expect(await sm.list()).toEqual([]);
      const fresh = await sm.add("old", { data: "new", ttl: "1m" });
      expect(await sm.get("old")).toEqual(fresh);
      await sm.close();
    });

    it("serves a SessionManager through a whole session life", async () => {
      const store = await open();
      const sm = new SessionManager<{ user: string } | null>({ backend: store });
      const added = await sm.add("s1", { data: { user: "ada" }, ttl: "10m" });
      await expect(sm.add("s1", { data: { user: "eve" } })).rejects.toMatchObject({
        code: "SESSION_EXISTS",
      });
      const touched = await sm.touch("s1", "20m");
      expect(touched.version).toBe(2);
      expect(touched.expiresAt).toBeGreaterThan(added.expiresAt);
      const updated = await sm.update("s1", (old) => ({ user: `${old?.user}!` }));
      expect(updated).toMatchObject({ version: 3, data: { user: "ada!" } });
      expect(updated.expiresAt).toBe(touched.expiresAt);
      expect(await store.get("s1")).toEqual(updated);
      expect(await sm.remove("s1")).toBe(true);
      expect(await store.get("s1")).toBeUndefined();
      await sm.close();
    });

    it("serves a SessionManager: rotate moves a session to a fresh id, maxAge caps its touches", async () => {
      const store = await open();
      const sm = new SessionManager<{ user: string }>({ backend: store, warnBefore: 0 });
      const added = await sm.add("anon", { data: { user: "ada" }, ttl: "10m", maxAge: "15m" });
      const moved = await sm.rotate("anon");
      expect(moved).toMatchObject({ data: { user: "ada" }, ttl: 600_000, maxAge: 900_000 });
      expect(moved.id).not.toBe("anon");
      expect(Math.abs(moved.expiresAt - added.expiresAt)).toBeLessThan(serverAssigned ? 1000 : 1);
      expect(await store.get("anon")).toBeUndefined();
      expect((await store.get(moved.id))?.data).toEqual({ user: "ada" });
      expect((await store.list()).map((r) => r.id)).toEqual([moved.id]);
      // Its lifetime still counts from when it was added: a touch for a day ends at the cap.
      const touched = await sm.touch(moved.id, "1d");
      expect(Math.abs(touched.expiresAt - (added.createdAt + 900_000))).toBeLessThan(
        serverAssigned ? 1000 : 1,
      );
      expect((await store.get(moved.id))?.maxAge).toBe(900_000);
      await sm.close();
    });

    if (twin) {
      // 800 conditional writes: through a server (the remote store checks a signed token on each)
      // on two loaded cores they take seconds, hence the longer timeout.
      it("lets exactly one of two stores on the same data create an id, and one win a version", async () => {
        const namespace = `t${++sequence}`;
        const a = await open(namespace);
        const b = await open(namespace, twin);
        const ids = Array.from({ length: RACES }, (_, i) => `race${i}`);
        // Every id at once, each by both stores at once: created, then moved from version 1 to 2.
        const created = await Promise.all(
          ids.map((id) =>
            Promise.all([
              a.set(rec(id, { data: "a" }), { ifAbsent: true }),
              b.set(rec(id, { data: "b" }), { ifAbsent: true }),
            ]),
          ),
        );
        const bumped = await Promise.all(
          ids.map((id) =>
            Promise.all([
              a.set(rec(id, { data: "a", version: 2 }), { ifVersion: 1 }),
              b.set(rec(id, { data: "b", version: 2 }), { ifVersion: 1 }),
            ]),
          ),
        );
        const wins = (pairs: boolean[][]) => pairs.map((pair) => pair.filter(Boolean).length);
        expect(wins(created)).toEqual(ids.map(() => 1));
        expect(wins(bumped)).toEqual(ids.map(() => 1));
        // Both stores read every id at version 2, holding what the second race's winner wrote.
        const won = new Map(ids.map((id, i) => [id, bumped[i]?.[0] ? "a" : "b"]));
        for (const store of [a, b]) {
          const listed = await store.list();
          expect(listed).toHaveLength(RACES);
          expect(listed.every((r) => r.version === 2)).toBe(true);
          expect(new Map(listed.map((r) => [r.id, r.data]))).toEqual(won);
        }
      }, 30_000);
    }
  });
}
