// The change log kept in process (`withChangeLog`) over the single-process backends: memory,
// file and SQLite, each run through the change-log conformance suite.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileStore } from "../../src/stores/file/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { withChangeLog } from "../../src/stores/shared/log.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import { sqliteStore } from "../../src/stores/sqlite.ts";
import { rec } from "../helpers/records.ts";
import { tempDir } from "../helpers/temp.ts";
import { testChangeLog } from "./change-log.ts";

const root = await tempDir("sessionmanager-log-");

testChangeLog({
  name: "memory (logged in process)",
  create: (namespace, log) => withChangeLog(memoryStore({ namespace }), { ...log, feed: true }),
});
testChangeLog({
  name: "file (logged in process)",
  create: (namespace, log) =>
    withChangeLog(fileStore({ path: join(root, "sessions.json"), namespace }), {
      ...log,
      feed: true,
    }),
});
testChangeLog({
  name: "sqlite (logged in process)",
  create: (namespace, log) =>
    withChangeLog(sqliteStore({ path: join(root, "sessions.db"), namespace }), {
      ...log,
      feed: true,
    }),
});

describe("withChangeLog", () => {
  it("leaves a store whose partitions keep a log of their own as it is", () => {
    const logged = withChangeLog(memoryStore(), { feed: true });
    expect(withChangeLog(logged)).toBe(logged);
  });

  it("gives partitions `watch` but no `changes` without `feed`", async () => {
    const store = withChangeLog(memoryStore());
    const alice = partitionOf(store, "alice");
    expect(alice.changes).toBeUndefined();
    const heard: unknown[] = [];
    alice.watch?.((entry) => heard.push(entry));
    await alice.set(rec("a"), { ifAbsent: true });
    expect(heard).toMatchObject([{ change: "added", id: "a" }]);
  });

  it("starts a new log on a new process: the old log's cursors resync", async () => {
    const inner = memoryStore();
    const before = partitionOf(withChangeLog(inner, { feed: true }), "alice");
    await before.set(rec("a"), { ifAbsent: true });
    const { next } = (await before.changes?.({ limit: 1 })) ?? { next: "" };
    // The same records, logged by another process (or this one after a restart).
    const after = partitionOf(withChangeLog(inner, { feed: true }), "alice");
    expect(await after.get("a")).toMatchObject({ id: "a" });
    expect(await after.changes?.({ cursor: next, limit: 10 })).toMatchObject({ resync: true });
  });

  it("forgets an idle owner's log once its entries aged out, and a reader of it resyncs", async () => {
    const store = withChangeLog(memoryStore(), { maxAge: 50, feed: true });
    const alice = partitionOf(store, "alice");
    const { next: head } = (await alice.changes?.({ limit: 1 })) ?? { next: "" };
    await alice.set(rec("a"), { ifAbsent: true });
    await new Promise((resolve) => setTimeout(resolve, 120));
    await store.purgeExpired(Date.now());
    expect(await alice.changes?.({ cursor: head, limit: 10 })).toMatchObject({ resync: true });
  });
});
