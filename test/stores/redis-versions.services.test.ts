// The Redis store's conditional writes read the stored version from the record's text, not with
// Lua cjson, which refuses the \ud800 escape that JSON.stringify writes for a lone surrogate:
// such a record could never be replaced, touched or removed on condition (B1 in the fuzz notes).
import { afterAll, describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { redisStore } from "../../src/stores/redis.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("redis");
const { host, port } = services.redis;
const prefix = `smtest-${runId()}`;
const opened: SessionStore[] = [];

async function open(): Promise<SessionStore> {
  const store = redisStore({ host, port, prefix, namespace: `v${opened.length}` });
  opened.push(store);
  await store.open?.({ report: () => {} });
  return store;
}

afterAll(async () => {
  for (const store of opened) {
    await store.clear?.();
    await store.close?.();
  }
});

// Data that the version check must see through: a lone surrogate (cjson refuses it), and keys
// named "version" inside data, at its end too (the record's own field comes after data).
const tricky: [string, unknown][] = [
  ["a lone surrogate", { text: "\uD800", other: "x\uDC00y" }],
  ["a lone surrogate as a whole string", "\uDBFF"],
  ["a version key in data", { version: 7 }],
  ["a version key last in nested data", { a: [{ b: 1, version: 1 }], version: 1 }],
  ["a string that looks like the field", ',"version":1}'],
  ["a lone surrogate in a key", { "\uD800": 1, version: 2 }],
];

describe.skipIf(!up)("redis conditional writes over any data", () => {
  it.each(tricky)("replaces, touches and deletes a record whose data holds %s", async (_, data) => {
    const store = await open();
    expect(await store.set(rec("s", { data }), { ifAbsent: true })).toBe(true);
    // A wrong version never matches, whatever data says.
    for (const wrong of [2, 7, 0]) {
      expect(await store.set(rec("s", { version: wrong + 1 }), { ifVersion: wrong })).toBe(false);
    }
    expect(await store.delete("s", { ifVersion: 2 })).toBe(false);
    // The right one does: replace (keeping the tricky data), then delete.
    expect(await store.set(rec("s", { data, version: 2 }), { ifVersion: 1 })).toBe(true);
    expect((await store.get("s"))?.version).toBe(2);
    expect(await store.set(rec("s", { data, version: 3 }), { ifVersion: 1 })).toBe(false);
    expect(await store.delete("s", { ifVersion: 1 })).toBe(false);
    expect(await store.delete("s", { ifVersion: 2 })).toBe(true);
    expect(await store.get("s")).toBeUndefined();
  });

  it("matches the version of a sealed record and of one with fields after the version", async () => {
    const store = await open();
    const sealed = rec("e", { data: "a.b.c.d.e", encrypted: true, version: 12 });
    expect(await store.set(sealed, { ifAbsent: true })).toBe(true);
    expect(await store.set(rec("e", { version: 13 }), { ifVersion: 1 })).toBe(false);
    expect(await store.set(rec("e", { version: 13 }), { ifVersion: 12 })).toBe(true);
    // A field after the version (an optional one a later format may add, such as maxAge).
    const capped = { ...rec("m", { version: 5 }), maxAge: 60_000 } as never;
    expect(await store.set(capped, { ifAbsent: true })).toBe(true);
    expect(await store.delete("m", { ifVersion: 50 })).toBe(false);
    expect(await store.delete("m", { ifVersion: 5 })).toBe(true);
  });

  it("lets a manager update, touch and remove a session with a lone surrogate in its data", async () => {
    const sm = new SessionManager({ backend: await open() });
    try {
      await sm.add("s", { data: { text: "\uD800" } });
      expect((await sm.update("s", { text: "\uDC00" })).version).toBe(2);
      expect((await sm.touch("s")).version).toBe(3);
      expect(await sm.remove("s")).toBe(true);
      expect(await sm.get("s")).toBeUndefined();
    } finally {
      await sm.close();
    }
  });
});
