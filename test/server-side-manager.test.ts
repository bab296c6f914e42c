// The manager behind server-side sessions (the express-session store, cookie sessions): it opens
// without reading every stored session, schedules the sessions it writes, and sweeps expired ones
// from the store, since it has no timer for those it never wrote.
import { describe, expect, it, vi } from "vitest";
import { cookieSessions } from "../src/cookies/index.ts";
import { SessionManagerStore } from "../src/express-session/index.ts";
import { SessionManager } from "../src/index.ts";
import { ServerSideManager } from "../src/server-side-manager.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionStore } from "../src/stores/types.ts";
import { SECRET } from "./cookies/helpers.ts";
import { sessionFor } from "./express-session/contract.ts";
import { rec } from "./helpers/records.ts";
import { eventually } from "./helpers/services.ts";

/** A memory store holding `ids` (live), whose `list` and `purgeExpired` calls are counted. */
async function storeWith(ids: string[]) {
  const store = memoryStore();
  for (const id of ids) await store.set(rec(id));
  const list = vi.spyOn(store, "list");
  const purge = vi.spyOn(store, "purgeExpired");
  return { store, list, purge };
}

async function opened(manager: { status: string }): Promise<void> {
  await eventually(async () => expect(manager.status).toBe("ready"));
}

describe("ServerSideManager", () => {
  it("opens without listing the stored sessions, and reads any of them", async () => {
    const { store, list } = await storeWith(["a", "b", "c"]);
    const sm = new ServerSideManager({ backend: store });
    await opened(sm);
    expect(list).not.toHaveBeenCalled();
    expect((await sm.get("b"))?.data).toEqual({ n: 1 });
    expect((await sm.list()).map((s) => s.id).sort()).toEqual(["a", "b", "c"]);
    await sm.close();
  });

  it("lists them where a page's manager would (the root SessionManager preloads)", async () => {
    const { store, list } = await storeWith(["a"]);
    const sm = new SessionManager({ backend: store });
    await opened(sm);
    expect(list).toHaveBeenCalledTimes(1);
    await sm.close();
  });

  it("warns about and expires a session it wrote", async () => {
    const sm = new ServerSideManager({ backend: memoryStore(), warnBefore: 100 });
    const heard: string[] = [];
    sm.onExpiringSoon((s) => heard.push(`soon ${s.id}`));
    sm.onExpired((s) => heard.push(`expired ${s.id}`));
    await sm.add("mine", { ttl: 300 });
    await eventually(async () => expect(heard).toEqual(["soon mine", "expired mine"]));
    await sm.close();
  });

  it("sweeps an expired session it never wrote from the store, firing expired once", async () => {
    const { store, purge } = await storeWith([]);
    await store.set(rec("elsewhere", { expiresAt: Date.now() + 150 }));
    const sm = new ServerSideManager({ backend: store }, 50);
    const expired: string[] = [];
    sm.onExpired((s) => expired.push(s.id));
    await eventually(async () => expect(await store.get("elsewhere")).toBeUndefined());
    expect(expired).toEqual(["elsewhere"]);
    await sm.close();
    const sweeps = purge.mock.calls.length;
    expect(sweeps).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(purge.mock.calls.length).toBe(sweeps);
  });

  it("reports a sweep that fails on error, and sweeps again", async () => {
    const { store, purge } = await storeWith([]);
    purge.mockRejectedValue(new Error("disk on fire"));
    const sm = new ServerSideManager({ backend: store }, 30);
    const errors: Error[] = [];
    sm.on("error", (error) => errors.push(error));
    await eventually(async () => expect(errors.length).toBeGreaterThanOrEqual(2));
    expect(errors[0]?.message).toContain("disk on fire");
    await sm.close();
  });
});

describe("ServerSideManager.replace", () => {
  it("writes new data and a new expiry in one store write, firing updated once", async () => {
    const store = memoryStore();
    // Spied before the manager wraps the store's methods.
    const set = vi.spyOn(store, "set");
    const sm = new ServerSideManager({ backend: store, defaultTtl: "1h" });
    const added = await sm.add("r", { data: { step: 1 } });
    const events: string[] = [];
    sm.on("updated", (s) => events.push(`updated ${JSON.stringify(s.data)}`));
    sm.on("touched", () => events.push("touched"));
    set.mockClear();
    const replaced = await sm.replace("r", { step: 2 }, 7_200_000);
    expect(set).toHaveBeenCalledTimes(1);
    expect(replaced.data).toEqual({ step: 2 });
    expect(replaced.version).toBe(added.version + 1);
    expect(replaced.createdAt).toBe(added.createdAt);
    expect(replaced.expiresAt - Date.now()).toBeGreaterThan(7_190_000);
    expect((await sm.get("r"))?.expiresAt).toBe(replaced.expiresAt);
    expect(events).toEqual(['updated {"step":2}']);
    await sm.close();
  });

  it("never ends a session past its maxAge, and warns at its new expiry", async () => {
    const sm = new ServerSideManager({ backend: memoryStore(), warnBefore: 100 });
    const added = await sm.add("r", { ttl: "1h", maxAge: 400 });
    const soon: number[] = [];
    sm.onExpiringSoon((s) => soon.push(s.expiresAt));
    const replaced = await sm.replace("r", { n: 2 }, 3_600_000);
    expect(replaced.expiresAt).toBe(added.createdAt + 400);
    await eventually(async () => expect(soon).toEqual([replaced.expiresAt]));
    await sm.close();
  });

  it("no live session, or data JSON cannot hold: a typed error, and nothing written", async () => {
    const store = memoryStore();
    const set = vi.spyOn(store, "set");
    const sm = new ServerSideManager({ backend: store });
    await sm.add("r", { data: { n: 1 } });
    set.mockClear();
    await expect(sm.replace("gone", { n: 2 }, 60_000)).rejects.toMatchObject({
      code: "SESSION_NOT_FOUND",
    });
    await expect(sm.replace("r", { f: () => 1 } as never, 60_000)).rejects.toMatchObject({
      code: "INVALID_DATA",
    });
    expect(set).not.toHaveBeenCalled();
    expect((await sm.get("r"))?.data).toEqual({ n: 1 });
    await sm.close();
  });

  it("SessionManagerStore saves a changed session with one store write", async () => {
    const backend = memoryStore();
    const set = vi.spyOn(backend, "set");
    const sessions = new SessionManagerStore({ backend: backend as SessionStore });
    await sessions.set("sid", sessionFor(60_000, { user: "ada" }));
    set.mockClear();
    await sessions.set("sid", sessionFor(3_600_000, { user: "ada", cart: 1 }));
    expect(set).toHaveBeenCalledTimes(1);
    expect(await sessions.get("sid")).toMatchObject({ user: "ada", cart: 1 });
    const stored = await sessions.manager.get("sid");
    expect((stored?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(3_590_000);
    await sessions.close();
  });
});

describe("server-side sessions open without listing every stored session", () => {
  it("SessionManagerStore", async () => {
    const { store, list } = await storeWith(["a", "b"]);
    const sessions = new SessionManagerStore({ backend: store as SessionStore });
    await opened(sessions.manager);
    expect(list).not.toHaveBeenCalled();
    expect(await sessions.length()).toBe(2);
    await sessions.close();
  });

  it("cookieSessions", async () => {
    const { store, list } = await storeWith(["a", "b"]);
    const sessions = cookieSessions({ store: { backend: store }, secret: SECRET });
    await opened(sessions.manager);
    expect(list).not.toHaveBeenCalled();
    await sessions.close();
  });
});
