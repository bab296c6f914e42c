// The contract of an owner's change log (`SessionPartition.changes` and `watch`), run unchanged
// against every store that keeps one: `testChangeLog({ name, create, twin })`.
import { afterEach, describe, expect, it } from "vitest";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type {
  ChangeEntry,
  ChangeLogOptions,
  ChangePage,
  ResyncSignal,
  SessionPartition,
  SessionStore,
} from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";

type Make = (namespace: string, log?: ChangeLogOptions) => SessionStore | Promise<SessionStore>;

export interface ChangeLogTestOptions {
  name: string;
  /** A fresh, empty store of `namespace`, its log bounded by `log` where given. */
  create: Make;
  /**
   * A second store on the data of `create(namespace)`: another connection or pool, as another
   * process would have. Given, what one writes must reach the other's `changes` and `watch`.
   */
  twin?: Make;
}

let sequence = 0;

/** How long a `watch` may take to hear an entry (a channel across connections). */
const HEARD_WITHIN_MS = 5000;

/** The contract, on `create`'s stores. */
export function testChangeLog({ name, create, twin }: ChangeLogTestOptions): void {
  describe(`change log conformance: ${name}`, () => {
    const opened: SessionStore[] = [];
    const stops: (() => void)[] = [];
    const reported: Error[] = [];
    const open = async (namespace: string, make: Make, log?: ChangeLogOptions) => {
      const store = await make(namespace, log);
      await store.open?.({ report: (error) => reported.push(error) });
      opened.push(store);
      return store;
    };
    /** A partition of a fresh store, with `changes` and `watch` (the store must have both). */
    const logOf = async (owner = "alice", log?: ChangeLogOptions) => {
      const namespace = `log${++sequence}-${process.pid}`;
      const store = await open(namespace, create, log);
      return { store, namespace, p: withLog(partitionOf(store, owner)) };
    };
    /** Collects what `watch` hears on `p` until the test ends. */
    const listen = (p: Logged) => {
      const heard: (ChangeEntry | ResyncSignal)[] = [];
      stops.push(p.watch((entry) => heard.push(entry)));
      return heard;
    };
    afterEach(async () => {
      for (const stop of stops.splice(0)) stop();
      for (const store of opened.splice(0)) {
        await store.clear();
        await store.close?.();
      }
      expect(reported.splice(0)).toEqual([]);
    });

    it("answers the head without a cursor, and the entries after it", async () => {
      const { p } = await logOf();
      const head = await p.changes({ limit: 10 });
      expect(head.entries).toEqual([]);
      expect(typeof head.next).toBe("string");
      expect(head.resync).toBeUndefined();
      const before = Date.now();
      expect(await p.set(rec("a"), { ifAbsent: true }, "added")).toBe(true);
      const page = await p.changes({ cursor: head.next, limit: 10 });
      expect(page.entries.map(brief)).toEqual([["added", "a"]]);
      const [entry] = page.entries as [ChangeEntry];
      expect(entry.record?.id).toBe("a");
      expect(entry.record?.data).toEqual({ n: 1 });
      expect(entry.at).toBeGreaterThanOrEqual(before - 1000);
      expect(entry.at).toBeLessThanOrEqual(Date.now() + 1000);
      expect(page.next).toBe(entry.cursor);
      expect(page.more).toBeUndefined();
      // Nothing after the last entry.
      expect((await p.changes({ cursor: page.next, limit: 10 })).entries).toEqual([]);
    });

    it("logs every kind of write in order, removals as tombstones", async () => {
      const { p } = await logOf();
      const { next: head } = await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true }, "added");
      await p.set(rec("a", { version: 2 }), { ifVersion: 1 }, "touched");
      await p.set(rec("a", { version: 3, data: { n: 3 } }), { ifVersion: 2 }, "updated");
      await p.delete("a", { ifVersion: 3 }, "removed");
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(entries.map(brief)).toEqual([
        ["added", "a"],
        ["touched", "a"],
        ["updated", "a"],
        ["removed", "a"],
      ]);
      expect(entries.map((e) => e.record?.version)).toEqual([1, 2, 3, undefined]);
      expect(entries[2]?.record?.data).toEqual({ n: 3 });
      expectIncreasing(entries.map((e) => e.cursor));
    });

    it("defaults the kind: added for a create, updated for a replace, removed for a delete", async () => {
      const { p } = await logOf();
      const { next: head } = await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true });
      await p.set(rec("a", { version: 2 }), { ifVersion: 1 });
      await p.delete("a");
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(entries.map(brief)).toEqual([
        ["added", "a"],
        ["updated", "a"],
        ["removed", "a"],
      ]);
    });

    it("logs nothing for a write that fails its condition", async () => {
      const { p } = await logOf();
      const { next: head } = await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true });
      expect(await p.set(rec("a"), { ifAbsent: true })).toBe(false);
      expect(await p.set(rec("a", { version: 8 }), { ifVersion: 7 })).toBe(false);
      expect(await p.delete("a", { ifVersion: 9 })).toBe(false);
      expect(await p.delete("nobody")).toBe(false);
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(entries.map(brief)).toEqual([["added", "a"]]);
    });

    it("keeps each owner's log apart, whatever their names hold", async () => {
      const namespace = `log${++sequence}-${process.pid}`;
      const store = await open(namespace, create);
      const owners = ["alice", "alice/x", "a:b", "{x}", "50%", "ünï 💥", "alice/"];
      const logs = owners.map((owner) => withLog(partitionOf(store, owner)));
      const heads = await Promise.all(logs.map(async (p) => (await p.changes({ limit: 1 })).next));
      await Promise.all(logs.map((p, i) => p.set(rec(`s${i}`), { ifAbsent: true })));
      for (const [i, p] of logs.entries()) {
        const { entries } = await p.changes({ cursor: heads[i], limit: 100 });
        expect(entries.map(brief)).toEqual([["added", `s${i}`]]);
      }
    });

    it("pages: at most `limit` entries, `more` while others follow", async () => {
      const { p } = await logOf();
      const { next: head } = await p.changes({ limit: 1 });
      for (const id of ["a", "b", "c", "d", "e"]) await p.set(rec(id), { ifAbsent: true });
      const seen: string[] = [];
      let cursor = head;
      let pages = 0;
      for (let more = true; more; pages++) {
        const page: ChangePage = await p.changes({ cursor, limit: 2 });
        expect(page.entries.length).toBeLessThanOrEqual(2);
        seen.push(...page.entries.map((e) => e.id));
        cursor = page.next;
        more = page.more === true;
      }
      expect(seen).toEqual(["a", "b", "c", "d", "e"]);
      expect(pages).toBe(3);
    });

    it("logs a removal for each record `clear` deletes", async () => {
      const { p } = await logOf();
      await p.set(rec("a"), { ifAbsent: true });
      await p.set(rec("b"), { ifAbsent: true });
      const { next: head } = await p.changes({ limit: 1 });
      await p.clear();
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(entries.map(brief).sort()).toEqual([
        ["removed", "a"],
        ["removed", "b"],
      ]);
    });

    it("logs `expired` for each record the root's sweep deletes", async () => {
      const { store, p } = await logOf();
      const soon = Date.now() + 300;
      await p.set(rec("old", { expiresAt: soon }), { ifAbsent: true });
      await p.set(rec("young"), { ifAbsent: true });
      const { next: head } = await p.changes({ limit: 1 });
      const swept = await store.purgeExpired(soon + 1);
      expect(swept.map((r) => r.id.split("/").at(-1))).toEqual(["old"]);
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(entries.map(brief)).toEqual([["expired", "old"]]);
      expect(entries[0]?.record).toBeUndefined();
    });

    it("answers `resync` and the head for a cursor it never made", async () => {
      const { p } = await logOf();
      await p.set(rec("a"), { ifAbsent: true });
      const { next: head } = await p.changes({ limit: 1 });
      for (const cursor of ["nonsense", "0", "zzzzzzzzzzzzzzzzzzzzzzzz"]) {
        const page = await p.changes({ cursor, limit: 10 });
        expect(page).toEqual({ entries: [], next: head, resync: true });
      }
    });

    it("is bounded by count: a cursor older than the oldest entry kept answers `resync`", async () => {
      const { p } = await logOf("alice", { maxEntries: 5 });
      const { next: head } = await p.changes({ limit: 1 });
      for (let i = 0; i < 115; i++) await p.set(rec(`s${i}`), { ifAbsent: true });
      const { next: after114 } = await p.changes({ limit: 1 });
      for (let i = 115; i < 120; i++) await p.set(rec(`s${i}`), { ifAbsent: true });
      const lost = await p.changes({ cursor: head, limit: 200 });
      expect(lost.resync).toBe(true);
      expect(lost.entries).toEqual([]);
      // The newest entries are kept: from the cursor after s114, s115 to s119 follow.
      const kept = await p.changes({ cursor: after114, limit: 200 });
      expect(kept.resync).toBeUndefined();
      expect(kept.entries.map((e) => e.id)).toEqual(["s115", "s116", "s117", "s118", "s119"]);
    });

    it("is bounded by age: entries older than `maxAge` are dropped, and a reader before them resyncs", async () => {
      const { p } = await logOf("alice", { maxAge: 100 });
      const { next: head } = await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true });
      const { next: afterA } = await p.changes({ cursor: head, limit: 10 });
      await new Promise((resolve) => setTimeout(resolve, 250));
      await p.set(rec("b"), { ifAbsent: true });
      expect((await p.changes({ cursor: head, limit: 10 })).resync).toBe(true);
      // Nothing after A was lost: a reader there goes on.
      const page = await p.changes({ cursor: afterA, limit: 10 });
      expect(page.resync).toBeUndefined();
      expect(page.entries.map(brief)).toEqual([["added", "b"]]);
    });

    it("`watch` hears the owner's entries in order, the same as `changes` reads", async () => {
      const { store, p } = await logOf();
      const heard = listen(p);
      const other = listen(withLog(partitionOf(store, "bob")));
      const { next: head } = await p.changes({ limit: 1 });
      await p.set(rec("a"), { ifAbsent: true }, "added");
      await p.set(rec("a", { version: 2 }), { ifVersion: 1 }, "touched");
      await p.delete("a", { ifVersion: 2 }, "removed");
      await until(() => heard.length >= 3);
      const { entries } = await p.changes({ cursor: head, limit: 10 });
      expect(heard).toEqual(entries);
      expect(other).toEqual([]);
    });

    it("`watch` stops when told to", async () => {
      const { p } = await logOf();
      const heard: unknown[] = [];
      const stop = p.watch((entry) => heard.push(entry));
      const still = listen(p);
      await p.set(rec("a"), { ifAbsent: true });
      await until(() => heard.length === 1 && still.length === 1);
      stop();
      await p.set(rec("b"), { ifAbsent: true });
      await until(() => still.length === 2);
      expect(heard).toHaveLength(1);
    });

    if (twin) {
      it("a write through one connection reaches the other's `changes` and `watch`", async () => {
        const namespace = `log${++sequence}-${process.pid}`;
        const one = withLog(partitionOf(await open(namespace, create), "alice"));
        const two = withLog(partitionOf(await open(namespace, twin), "alice"));
        const heard = listen(two);
        const bob = listen(withLog(partitionOf(await open(namespace, twin), "bob")));
        const { next: head } = await two.changes({ limit: 1 });
        await one.set(rec("a"), { ifAbsent: true }, "added");
        await one.set(rec("a", { version: 2 }), { ifVersion: 1 }, "updated");
        await one.delete("a", { ifVersion: 2 }, "removed");
        await until(() => heard.length >= 3);
        const { entries } = await two.changes({ cursor: head, limit: 10 });
        expect(entries.map(brief)).toEqual([
          ["added", "a"],
          ["updated", "a"],
          ["removed", "a"],
        ]);
        expect(heard).toEqual(entries);
        expect(bob).toEqual([]);
      });
    }
  });
}

type Logged = SessionPartition & Required<Pick<SessionPartition, "changes" | "watch">>;

/** `p`, which must keep a change log. */
function withLog(p: SessionPartition): Logged {
  expect(typeof p.changes).toBe("function");
  expect(typeof p.watch).toBe("function");
  return p as Logged;
}

/** An entry as `[change, id]`. */
function brief(entry: ChangeEntry): [string, string] {
  return [entry.change, entry.id];
}

function expectIncreasing(cursors: string[]): void {
  for (let i = 1; i < cursors.length; i++) {
    expect((cursors[i] as string) > (cursors[i - 1] as string)).toBe(true);
  }
}

/** Waits until `done()` holds; fails the test after `HEARD_WITHIN_MS`. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + HEARD_WITHIN_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("not heard in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
