// Rotation and maxAge with the remote store: the manager's own path (PUT If-None-Match: * for the
// new id, DELETE If-Match for the old), no route of its own; the server keeps the lifetime's cap.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { setup, token } from "../helpers/server.ts";
import { inProcessServer, Network, tokenFor } from "../helpers/sync-server.ts";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

describe("rotate and maxAge over HTTP", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it("moves a session to a new id on the server, keeping its createdAt, so maxAge still caps it", async () => {
    const { server, store: serverStore } = setup();
    const device = () =>
      new SessionManager<{ user: string }>({
        backend: remoteStore({
          url: "http://sessions.test",
          token: () => token("alice"),
          fetch: (input, init) => server.fetch(new Request(input, init)),
        }),
        warnBefore: 0,
      });
    const sm = device();
    await sm.add("anon", { data: { user: "ada" }, ttl: "10m", maxAge: "15m" });
    vi.setSystemTime(T0 + 5 * MINUTE);
    const moved = await sm.rotate("anon");
    expect(moved).toMatchObject({
      createdAt: T0,
      expiresAt: T0 + 10 * MINUTE,
      maxAge: 15 * MINUTE,
    });
    const stored = await serverStore.list();
    expect(stored.map((r) => [r.id.split("/").pop(), r.createdAt, r.maxAge])).toEqual([
      [moved.id, T0, 15 * MINUTE],
    ]);
    // The server, which holds no key and knows nothing of the client, caps the touch.
    expect((await sm.touch(moved.id, "1d")).expiresAt).toBe(T0 + 15 * MINUTE);
    // Another device of the owner finds the new id only.
    const other = device();
    expect((await other.list()).map((s) => s.id)).toEqual([moved.id]);
    expect(await other.get("anon")).toBeUndefined();
    await sm.close();
    await other.close();
  });
});

describe("rotate offline, with a replica", () => {
  it("queues the new id's create and the old id's delete, and pushes them as they were made", async () => {
    const { server, fetch, store: serverStore } = inProcessServer();
    const network = new Network(fetch);
    const store = replicaStore(memoryStore(), {
      url: "http://sessions.test/api",
      token: await tokenFor("alice"),
      fetch: network.fetch,
      retry: 0,
    });
    const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
    await sm.add("anon", { data: { cart: 1 }, maxAge: "1h" });
    await store.sync();
    network.online = false;
    const moved = await sm.rotate("anon");
    expect(await sm.get("anon")).toBeUndefined();
    network.online = true;
    expect(await store.sync()).toBe(true);
    expect(network.taken(moved.id)).toEqual(["PUT@*"]);
    expect(network.taken("anon")).toEqual(["PUT@*", 'DELETE@"1"']);
    const held = await serverStore.list();
    expect(held.map((r) => [r.id.split("/").pop(), r.data, r.maxAge])).toEqual([
      [moved.id, { cart: 1 }, 3_600_000],
    ]);
    await sm.close();
    await server.close();
  });
});
