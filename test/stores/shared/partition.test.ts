// Paged lists and partitions on the stores that need no service, and the shared toolkit.
import "fake-indexeddb/auto";
import { join } from "node:path";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { cachedStore } from "../../../src/stores/cached.ts";
import { fileStore } from "../../../src/stores/file/index.ts";
import { indexedDBStore } from "../../../src/stores/indexeddb/index.ts";
import { memorySpace, memoryStore } from "../../../src/stores/memory.ts";
import { guard } from "../../../src/stores/open.ts";
import { holds } from "../../../src/stores/shared/condition.ts";
import { lazy } from "../../../src/stores/shared/lazy.ts";
import { partitionOf } from "../../../src/stores/shared/partition.ts";
import { pageOf, prefixEnd } from "../../../src/stores/shared/range.ts";
import { sqliteStore } from "../../../src/stores/sqlite.ts";
import type { SessionStore } from "../../../src/stores/types.ts";
import { rec } from "../../helpers/records.ts";
import { tempDir } from "../../helpers/temp.ts";
import { testPartitions } from "./partition-contract.ts";

const dir = await tempDir("sessionmanager-partitions-");
const idb = new IDBFactory();
const space = memorySpace();

const counts = { counts: true };
testPartitions("memory", () => memoryStore(), counts);
testPartitions("memory (one space)", (namespace) => memoryStore({ space, namespace }), counts);
testPartitions(
  "file",
  (namespace) => fileStore({ path: join(dir, "sessions.json"), namespace }),
  counts,
);
testPartitions("sqlite", (namespace) => sqliteStore({ namespace }), counts);
testPartitions("indexedDB (fake-indexeddb)", (namespace) =>
  indexedDBStore({ namespace, indexedDB: idb }),
);
testPartitions("cached memory", () => cachedStore(memoryStore(), { max: 10 }), counts);
testPartitions("guarded memory", () => guard(memoryStore()), counts);
// A store with neither listPage nor listPrefix, as custom stores written before them are.
testPartitions("a store with list only", () => {
  const { listPage: _, listPrefix: __, count: ___, ...plain } = memoryStore();
  return plain as SessionStore;
});

describe("memory store namespaces", () => {
  it("are apart on one space, the same on one space and namespace, apart without a space", async () => {
    const space = memorySpace();
    const a = memoryStore({ space, namespace: "a" });
    const b = memoryStore({ space, namespace: "b" });
    const a2 = memoryStore({ space, namespace: "a" });
    a.set(rec("same", { data: "a" }));
    b.set(rec("same", { data: "b" }));
    expect((await a2.get("same"))?.data).toBe("a");
    a.clear();
    expect(a2.get("same")).toBeUndefined();
    expect((await b.get("same"))?.data).toBe("b");
    expect(memoryStore({ namespace: "b" }).get("same")).toBeUndefined();
  });
});

describe("store toolkit", () => {
  it("holds: ifAbsent on nothing stored (an unreadable record is not nothing), ifVersion on that version", () => {
    expect(holds(undefined, { ifAbsent: true })).toBe(true);
    expect(holds(undefined, { ifAbsent: true }, true)).toBe(false);
    expect(holds(rec("a"), { ifAbsent: true })).toBe(false);
    expect(holds(rec("a"), { ifVersion: 1 })).toBe(true);
    expect(holds(rec("a"), { ifVersion: 2 })).toBe(false);
    expect(holds(undefined, { ifVersion: 1 }, true)).toBe(false);
  });

  it("lazy: opens once, shares the promise, opens again after a failure or a reset", async () => {
    let opens = 0;
    let fail = true;
    const connection = lazy(async () => {
      opens++;
      if (fail) throw new Error("down");
      return opens;
    });
    await expect(connection()).rejects.toThrow("down");
    fail = false;
    const [one, two] = await Promise.all([connection(), connection()]);
    expect([one, two, opens]).toEqual([2, 2, 2]);
    expect(await connection.reset()).toBe(2);
    expect(await connection()).toBe(3);
  });

  it("prefixEnd: the least string above a prefix's range, in code point order", () => {
    expect(prefixEnd("ab")).toBe("ac");
    expect(prefixEnd("a\u{10ffff}")).toBe("b");
    expect(prefixEnd("\u{10ffff}")).toBeUndefined();
    expect(prefixEnd("a\ud7ff")).toBe("a\ue000");
  });

  it("pageOf: a page in code unit order, from the cursor, within the prefix", () => {
    const records = ["b/2", "a/1", "b/1", "b/3", "c"].map((id) => rec(id));
    const first = pageOf(records, { prefix: "b/", limit: 2 });
    expect(first).toMatchObject({ next: "b/2" });
    expect(first.records.map((r) => r.id)).toEqual(["b/1", "b/2"]);
    const rest = pageOf(records, { prefix: "b/", cursor: first.next, limit: 2 });
    expect(rest.records.map((r) => r.id)).toEqual(["b/3"]);
    expect(rest.next).toBeUndefined();
  });

  it("partitionOf uses a store's own partitions, and guard guards them", async () => {
    const inner = memoryStore();
    const store: SessionStore = {
      ...inner,
      partition: (owner) => ({
        ...partitionOf(inner, owner),
        get: () => {
          throw new Error("boom");
        },
      }),
    };
    expect(() => partitionOf(store, "alice").get("x")).toThrow("boom");
    expect(() => partitionOf(guard(store), "alice").get("x")).toThrow("memory store failed: boom");
  });
});
