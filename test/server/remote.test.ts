import { describe, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { setup, token } from "../helpers/server.ts";

describe("the SDK's remote store against the server", () => {
  it("adds, reads, touches, updates, lists and removes sessions", async () => {
    const { server } = setup();
    const store = remoteStore({
      url: "http://sessions.test",
      token: () => token("alice"),
      fetch: (input, init) => server.fetch(new Request(input, init)),
    });
    const sm = new SessionManager<{ n: number }>({ backend: store, warnBefore: 0 });
    const added = await sm.add("user123", { data: { n: 1 }, ttl: "10m" });
    expect(added.version).toBe(1);
    expect((await sm.get("user123"))?.data).toEqual({ n: 1 });
    const touched = await sm.touch("user123");
    expect(touched.version).toBe(2);
    const updated = await sm.update("user123", { n: 2 });
    expect(updated).toMatchObject({ data: { n: 2 }, version: 3, expiresAt: touched.expiresAt });
    await expect(sm.add("user123", { data: { n: 9 } })).rejects.toMatchObject({
      code: "SESSION_EXISTS",
    });
    expect((await sm.list()).map((s) => s.id)).toEqual(["user123"]);
    expect(await sm.remove("user123")).toBe(true);
    expect(await sm.get("user123")).toBeUndefined();
    await sm.close();
  });

  it("keeps data encrypted end to end: the server stores the JWE as is", async () => {
    const { server, store: serverStore } = setup();
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const sm = new SessionManager<{ secret: string }>({
      backend: remoteStore({
        url: "http://sessions.test",
        token: () => token("alice"),
        fetch: (input, init) => server.fetch(new Request(input, init)),
      }),
      encryption: { key },
      warnBefore: 0,
    });
    await sm.add("a", { data: { secret: "hunter2" } });
    expect((await sm.get("a"))?.data).toEqual({ secret: "hunter2" });
    const [stored] = await serverStore.list();
    expect(stored?.encrypted).toBe(true);
    expect(JSON.stringify(stored?.data)).not.toContain("hunter2");
    await sm.close();
  });
});
