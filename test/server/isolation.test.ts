import { describe, expect, it } from "vitest";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { client, setup } from "../helpers/server.ts";

describe("owners", () => {
  it("may both have user123, each seeing only their own", async () => {
    const { alice, bob } = setup();
    expect((await alice.put("/v1/sessions/user123", { data: "alice's" })).status).toBe(201);
    expect(
      (
        await bob.put(
          "/v1/sessions/user123",
          { data: "bob's" },
          { headers: { "if-none-match": "*" } },
        )
      ).status,
    ).toBe(201);
    expect((await alice.get("/v1/sessions/user123")).body.session.data).toBe("alice's");
    expect((await bob.get("/v1/sessions/user123")).body.session.data).toBe("bob's");
  });

  it("cannot get, touch, replace, delete, list or learn of another owner's session", async () => {
    const { alice, bob, store } = setup();
    await bob.put("/v1/sessions/bobs", { data: "secret" });
    const before = await store.list();

    expect((await alice.get("/v1/sessions/bobs")).status).toBe(404);
    expect((await alice.post("/v1/sessions/bobs/touch")).status).toBe(404);
    expect((await alice.delete("/v1/sessions/bobs")).status).toBe(404);
    const ifMatch = await alice.put(
      "/v1/sessions/bobs",
      { data: "x" },
      { headers: { "if-match": '"1"' } },
    );
    expect(ifMatch.status).toBe(412);
    expect(ifMatch.body.session).toBeUndefined();
    expect((await alice.get("/v1/sessions")).body.sessions).toEqual([]);
    expect((await alice.get("/v1/changes")).body).toMatchObject({ changed: [], live: [] });
    expect((await alice.delete("/v1/sessions")).body).toEqual({ removed: 0 });
    expect(await store.list()).toEqual(before);

    // Creating the same id is no SESSION_EXISTS: alice gets her own session.
    const own = await alice.put(
      "/v1/sessions/bobs",
      { data: "mine" },
      { headers: { "if-none-match": "*" } },
    );
    expect(own.status).toBe(201);
    expect((await bob.get("/v1/sessions/bobs")).body.session.data).toBe("secret");
  });

  it("keeps owners apart whatever characters their sub has", async () => {
    const { server } = setup();
    const subs = ["a", "a/b", "a%2Fb", "a/", "*", "a b", "ä"];
    for (const sub of subs) await client(server, sub).put("/v1/sessions/x", { data: sub });
    for (const sub of subs) {
      const mine = (await client(server, sub).get("/v1/sessions")).body.sessions;
      expect(mine.map((s: { data: string }) => s.data)).toEqual([sub]);
    }
    await client(server, "a").delete("/v1/sessions");
    expect((await client(server, "a/b").get("/v1/sessions/x")).status).toBe(200);
  });

  it("uses list() when the store has no listPrefix, and filters a loose listPrefix", async () => {
    const { listPrefix: _, ...noIndex } = memoryStore();
    const inner = memoryStore();
    const loose: SessionStore = { ...inner, listPrefix: () => inner.list() };
    for (const store of [noIndex as SessionStore, loose]) {
      const { alice, bob } = setup({}, store);
      await alice.put("/v1/sessions/a");
      await bob.put("/v1/sessions/b");
      expect(
        (await alice.get("/v1/sessions")).body.sessions.map((s: { id: string }) => s.id),
      ).toEqual(["a"]);
      expect((await bob.get("/v1/changes")).body.live).toEqual(["b"]);
    }
  });
});

describe("several servers on one store", () => {
  it("see each other's writes (as processes sharing one Redis would)", async () => {
    const store = memoryStore();
    const one = setup({}, store).alice;
    const two = setup({}, store).alice;
    await one.put("/v1/sessions/a", { data: 1 });
    expect((await two.get("/v1/sessions/a")).body.session.data).toBe(1);
    await two.post("/v1/sessions/a/touch");
    expect((await one.get("/v1/sessions/a")).body.session.version).toBe(2);
    const stale = await one.put("/v1/sessions/a", { data: 3 }, { headers: { "if-match": '"1"' } });
    expect(stale.status).toBe(412);
    await two.delete("/v1/sessions/a");
    expect((await one.get("/v1/sessions/a")).status).toBe(404);
  });

  it("lose no update when they write the same session at once", async () => {
    const store = asyncStore(memoryStore());
    const servers = [setup({}, store).alice, setup({}, store).alice];
    await servers[0]?.put("/v1/sessions/a");
    const touches = Array.from({ length: 4 }, (_, i) =>
      servers[i % 2]?.post("/v1/sessions/a/touch"),
    );
    const replies = await Promise.all(touches);
    expect(replies.map((r) => r?.status)).toEqual([200, 200, 200, 200]);
    expect((await servers[0]?.get("/v1/sessions/a"))?.body.session.version).toBe(5);
  });

  it("let exactly one of many simultaneous creates win", async () => {
    const store = asyncStore(memoryStore());
    const servers = [setup({}, store).alice, setup({}, store).alice];
    const creates = Array.from({ length: 6 }, (_, i) =>
      servers[i % 2]?.put("/v1/sessions/a", { data: i }, { headers: { "if-none-match": "*" } }),
    );
    const statuses = (await Promise.all(creates)).map((r) => r?.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(5);
  });
});

describe("lost races", () => {
  it("retries a conditional write that lost, then answers 409 CONFLICT", async () => {
    const inner = memoryStore();
    let losses = 0;
    const store: SessionStore = {
      ...inner,
      set: (record, condition) => (losses-- > 0 ? false : inner.set(record, condition)),
    };
    const { alice } = setup({}, store);
    losses = 3;
    expect((await alice.put("/v1/sessions/a")).status).toBe(201);
    losses = 100;
    const lost = await alice.put("/v1/sessions/a");
    expect(lost.status).toBe(409);
    expect(lost.body.error.code).toBe("CONFLICT");
    expect((await alice.get("/v1/sessions/a")).body.session.version).toBe(1);
  });
});

/** A store that answers every call a tick later, so that concurrent requests interleave. */
function asyncStore(store: SessionStore): SessionStore {
  const later =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    async (...args: A): Promise<Awaited<R>> => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      return await fn(...args);
    };
  return {
    name: "async-memory",
    get: later(store.get),
    set: later(store.set),
    delete: later(store.delete),
    list: later(store.list),
    clear: later(store.clear),
    purgeExpired: later(store.purgeExpired),
  };
}
