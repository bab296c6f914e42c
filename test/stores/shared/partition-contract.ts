// The contract of paged lists and partitions (src/stores/types.ts: listPage, partition), run on
// each backend through `partitionOf`, as the server uses them.
import { afterAll, describe, expect, it } from "vitest";
import { countLive } from "../../../src/stores/shared/count.ts";
import { partitionOf, partitionPrefix } from "../../../src/stores/shared/partition.ts";
import type { SessionPartition, SessionStore } from "../../../src/stores/types.ts";
import { rec } from "../../helpers/records.ts";

let sequence = 0;

/** Every record of a partition, read `limit` at a time, with the number of pages it took. */
export async function walk(partition: SessionPartition, limit: number) {
  const ids: string[] = [];
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await partition.list({ cursor, limit });
    expect(page.records.length).toBeLessThanOrEqual(limit);
    ids.push(...page.records.map((r) => r.id));
    cursor = page.next;
    pages++;
  } while (cursor !== undefined && pages < 1000);
  return { ids, pages };
}

/**
 * The contract on `create`'s stores (fresh and empty for each namespace). `counts`: the store's
 * partitions have a `count` of their own (else `countLive` pages them).
 */
export function testPartitions(
  name: string,
  create: (namespace: string) => SessionStore | Promise<SessionStore>,
  { counts = false } = {},
): void {
  describe(`partitions: ${name}`, () => {
    const opened: SessionStore[] = [];
    const open = async () => {
      const store = await create(`partitions${++sequence}`);
      await store.open?.({ report: () => {} });
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of opened) await store.clear();
      for (const store of opened) await store.close?.();
    });

    it("keeps owners apart whatever characters their names hold", async () => {
      const store = await open();
      const owners = ["a", "a/b", "a%2Fb", "a/", "*", "a b", "ä", "alice", "alice2"];
      for (const owner of owners) await partitionOf(store, owner).set(rec("x", { data: owner }));
      for (const owner of owners) {
        const partition = partitionOf(store, owner);
        expect((await partition.get("x"))?.data).toBe(owner);
        const { records } = await partition.list({ limit: 100 });
        expect(records.map((r) => [r.id, r.data])).toEqual([["x", owner]]);
      }
    });

    it("writes and deletes on condition, with the owner's own ids", async () => {
      const store = await open();
      const alice = partitionOf(store, "alice");
      expect(await alice.set(rec("s"), { ifAbsent: true })).toBe(true);
      expect(await alice.set(rec("s"), { ifAbsent: true })).toBe(false);
      expect(await partitionOf(store, "bob").get("s")).toBeUndefined();
      expect(await alice.set(rec("s", { version: 2 }), { ifVersion: 1 })).toBe(true);
      expect(await alice.set(rec("s", { version: 3 }), { ifVersion: 1 })).toBe(false);
      expect((await alice.get("s"))?.id).toBe("s");
      expect(await alice.delete("s", { ifVersion: 1 })).toBe(false);
      expect(await alice.delete("s", { ifVersion: 2 })).toBe(true);
      expect(await alice.get("s")).toBeUndefined();
    });

    it("pages every record exactly once, in pages of at most the limit", async () => {
      const store = await open();
      const alice = partitionOf(store, "alice");
      const ids = Array.from({ length: 23 }, (_, i) => `s${String(i).padStart(2, "0")}`);
      for (const id of ids) await alice.set(rec(id));
      // Another owner whose name alice's prefix starts, and ids of the root around hers.
      await partitionOf(store, "alice2").set(rec("s00"));
      await store.set(rec(`${partitionPrefix("alice")}`.slice(0, -1)));
      for (const limit of [1, 5, 23, 100]) {
        const walked = await walk(alice, limit);
        expect(walked.ids.sort()).toEqual(ids);
        expect(walked.pages).toBeGreaterThanOrEqual(Math.ceil(ids.length / limit));
      }
      expect((await walk(partitionOf(store, "nobody"), 10)).ids).toEqual([]);
    });

    it("pages the root by prefix when the store can (listPage)", async () => {
      const store = await open();
      if (!store.listPage) return;
      for (const id of ["p/1", "p/2", "p/3", "q/1", "p"]) await store.set(rec(id));
      const first = await store.listPage({ prefix: "p/", limit: 2 });
      expect(first.records.map((r) => r.id)).toEqual(["p/1", "p/2"]);
      expect(first.next).toBeDefined();
      const second = await store.listPage({ prefix: "p/", cursor: first.next, limit: 2 });
      expect(second.records.map((r) => r.id)).toEqual(["p/3"]);
      expect(second.next).toBeUndefined();
      const all = await store.listPage({ limit: 10 });
      expect(all.records.map((r) => r.id).sort()).toEqual(["p", "p/1", "p/2", "p/3", "q/1"]);
    });

    it("clears one owner's records, returning them, and no other's", async () => {
      const store = await open();
      const alice = partitionOf(store, "alice");
      const gone = rec("old", { expiresAt: Date.now() - 1000 });
      await alice.set(rec("a"));
      await alice.set(gone);
      await partitionOf(store, "alice2").set(rec("a"));
      const removed = await alice.clear();
      expect(removed.map((r) => r.id).sort()).toEqual(["a", "old"]);
      expect((await alice.list({ limit: 10 })).records).toEqual([]);
      expect(await partitionOf(store, "alice2").get("a")).toBeDefined();
    });

    it(`counts the owner's live records only${counts ? ", with a count of its own" : ""}`, async () => {
      const store = await open();
      const now = Date.now();
      const alice = partitionOf(store, "alice");
      expect(typeof alice.count).toBe(counts ? "function" : "undefined");
      for (const id of ["a", "b", "c"]) await alice.set(rec(id));
      await alice.set(rec("next", { expiresAt: now + 1 }));
      await alice.set(rec("ended", { expiresAt: now }));
      await alice.set(rec("old", { expiresAt: now - 1000 }));
      // Owners whose names alice's starts or is in, and alice in another namespace.
      for (const owner of ["alice2", "a", "alice/"]) await partitionOf(store, owner).set(rec("a"));
      await partitionOf(await open(), "alice").set(rec("d"));
      expect(await countLive(alice, { now })).toBe(4);
      if (alice.count) expect(await alice.count({ now })).toBe(4);
      expect(await countLive(alice, { now: now + 1 })).toBe(3);
      expect(await countLive(alice, { now: now + 120_000 })).toBe(0);
      expect(await countLive(partitionOf(store, "alice2"), { now })).toBe(1);
      expect(await countLive(partitionOf(store, "nobody"), { now })).toBe(0);
    });

    it("counts no further than the bound, which counts live records only", async () => {
      const store = await open();
      const now = Date.now();
      const alice = partitionOf(store, "alice");
      // Expired ones first in id order (a store that reads to count must not stop at them).
      for (const id of ["a0", "a1"]) await alice.set(rec(id, { expiresAt: now - 1000 }));
      for (const id of ["b0", "b1", "b2"]) await alice.set(rec(id));
      for (const [upTo, expected] of [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 3],
        [1000, 3],
      ]) {
        expect(await countLive(alice, { now, upTo })).toBe(expected);
        if (alice.count) expect(await alice.count({ now, upTo })).toBe(expected);
      }
    });

    it("is swept by the root: purgeExpired covers every owner", async () => {
      const store = await open();
      const now = Date.now();
      await partitionOf(store, "alice").set(rec("due", { expiresAt: now - 10 }));
      await partitionOf(store, "bob").set(rec("due", { expiresAt: now - 10 }));
      await partitionOf(store, "bob").set(rec("kept"));
      expect(await store.purgeExpired(now)).toHaveLength(2);
      expect((await walk(partitionOf(store, "bob"), 10)).ids).toEqual(["kept"]);
    });
  });
}
