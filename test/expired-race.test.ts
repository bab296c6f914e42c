// Writes racing over an expired record that is still stored (not swept yet), across managers
// sharing one store (processes sharing a database, tabs sharing storage): B3 in the fuzz notes.
// A create over such a record used to be version 1 again, as the expired record often was, so a
// writer that had read the expired record still met its condition ("version 1") and overwrote
// or deleted the new session. Now it takes the version after the expired one.

import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { SessionExistsError, SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import { sqliteStore } from "../src/stores/sqlite.ts";
import type { SessionStore } from "../src/stores/types.ts";
import type { SessionRecord } from "../src/types.ts";
import { deferred, meeting } from "./helpers/gate.ts";
import { tempDir } from "./helpers/temp.ts";

const dir = await tempDir("sm-expired-race-");

const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((sm) => sm.close()));
});

/** A store whose reads, once `race.n` is set, wait until `n` of them are under way (once). */
function racingStore() {
  const inner = memoryStore();
  const { partition: _partition, ...plain } = inner;
  const race = { n: 0 };
  let reads: (() => Promise<void>) | undefined;
  const store: SessionStore = {
    ...plain,
    get: async (id) => {
      const found = await inner.get(id);
      if (race.n > 0) {
        reads ??= meeting(race.n);
        await reads();
      }
      return found;
    },
  };
  return { store, inner, race };
}

const expiredRecord = (id: string): SessionRecord =>
  Object.freeze({
    id,
    data: "old",
    createdAt: Date.now() - 2000,
    updatedAt: Date.now() - 2000,
    expiresAt: Date.now() - 1000,
    ttl: 1000,
    version: 1,
  });

const open = (store: SessionStore) => {
  const sm = new SessionManager({ backend: store });
  managers.push(sm);
  return sm;
};

it("of two managers adding one id over an expired record at once, exactly one wins", async () => {
  const { store, inner, race } = racingStore();
  const [a, b] = [open(store), open(store)];
  await Promise.all([a.list(), b.list()]);
  await inner.set(expiredRecord("s"), { ifAbsent: true });
  // Both read the expired record before either writes.
  race.n = 2;
  const results = await Promise.allSettled([a.add("s", { data: "a" }), b.add("s", { data: "b" })]);
  const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect(lost[0]).toBeInstanceOf(SessionExistsError);
  // The winner's session is what is stored, at the version after the expired one.
  const stored = await inner.get("s");
  expect(stored).toEqual(won[0]);
  expect(stored?.version).toBe(2);
});

it("two managers on one SQLite file (two connections) add over an expired record: one wins", async () => {
  const path = join(dir, "race.db");
  // Each manager on a connection of its own; both reads of "s" wait for each other once.
  const firstReads = meeting(2);
  let racing = false;
  const gate = (inner: SessionStore): SessionStore => {
    const { partition: _partition, ...plain } = inner;
    return {
      ...plain,
      get: async (id) => {
        const found = await inner.get(id);
        if (racing && found) await firstReads();
        return found;
      },
    };
  };
  const first = sqliteStore({ path });
  const [a, b] = [open(gate(first)), open(gate(sqliteStore({ path })))];
  await Promise.all([a.list(), b.list()]);
  expect(await first.set(expiredRecord("s"), { ifAbsent: true })).toBe(true);
  racing = true;
  const results = await Promise.allSettled([a.add("s", { data: "a" }), b.add("s", { data: "b" })]);
  const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  expect(won).toHaveLength(1);
  expect(lost[0]).toBeInstanceOf(SessionExistsError);
  expect(await first.get("s")).toEqual(won[0]);
});

it("an add over an expired record is not deleted by a sweep that read that record", async () => {
  const inner = memoryStore();
  const { partition: _partition, ...plain } = inner;
  // The sweeper's reads of "s" wait, once expired, until the other manager has added it again.
  const reading = deferred();
  const released = deferred();
  const gated: SessionStore = {
    ...plain,
    get: async (id) => {
      const found = await inner.get(id);
      if (found && found.expiresAt <= Date.now()) {
        reading.resolve();
        await released.promise;
      }
      return found;
    },
  };
  const sweeper = open(gated);
  const adder = open({ ...plain });
  await Promise.all([sweeper.list(), adder.list()]);
  await sweeper.add("s", { data: "old", ttl: 20 });
  await reading.promise; // the sweeper's timer came due and read the expired record
  const added = await adder.add("s", { data: "new" });
  released.resolve();
  await new Promise((resolve) => setTimeout(resolve, 30));
  // The sweeper's delete, on condition of the version it read, missed the new session.
  expect(await inner.get("s")).toEqual(added);
  expect(await adder.get("s")).toEqual(added);
});

// Known limitation (B3's remainder): a write conditioned on an expired version-1 record that a
// sweep deletes before the write lands can still meet its condition on a session created at
// version 1 meanwhile (from absent: nothing tells its creator the old version). Conditions on the
// version alone cannot tell them apart; closing it needs every store to condition on (version,
// expiresAt). The HTTP fuzz hits it in runs that sweep every 10 ms (memcached, seed 1).
it.fails("an add that read an expired record loses to an add made after a sweep removed it", async () => {
  const inner = memoryStore();
  const { partition: _partition, ...plain } = inner;
  const reading = deferred();
  const released = deferred();
  // The first manager's read of the expired record (its second: the first follows its failed
  // `ifAbsent` write) waits until the second manager has added.
  let expiredReads = 0;
  const gated: SessionStore = {
    ...plain,
    get: async (id) => {
      const found = await inner.get(id);
      if (found && found.expiresAt <= Date.now() && ++expiredReads === 2) {
        reading.resolve();
        await released.promise;
      }
      return found;
    },
  };
  const [a, b] = [open(gated), open({ ...plain })];
  await Promise.all([a.list(), b.list()]);
  await inner.set(expiredRecord("s"), { ifAbsent: true });
  const first = a.add("s", { data: "a" }).then(
    () => "added",
    (error: Error) => error.name,
  );
  await reading.promise;
  await inner.purgeExpired?.(Date.now()); // the sweep
  await b.add("s", { data: "b" });
  released.resolve();
  // The first add must now find the second's live session: SessionExistsError.
  expect(await first).toBe("SessionExistsError");
});
