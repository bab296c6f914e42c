// Rotation and maxAge with the remote store: the manager's own path (PUT If-None-Match: * for the
// new id, DELETE If-Match for the old), no route of its own; the server keeps the lifetime's cap.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { setup, token } from "../helpers/server.ts";

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe("rotate and maxAge over HTTP", () => {
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
