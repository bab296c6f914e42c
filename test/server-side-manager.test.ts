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
