import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { createSessionServer } from "../../src/server/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { client, gatedStore, SECRET, setup } from "../helpers/server.ts";

/** A memory store that can be taken down: then every method throws (or rejects) like a driver. */
function flakyStore() {
  const inner = memoryStore();
  const state = { down: false };
  const fail = () => {
    throw new Error("connect ECONNREFUSED 10.0.0.5:6379");
  };
  const methods = ["get", "set", "delete", "list", "listPrefix", "clear", "purgeExpired"] as const;
  const store = { name: "flaky" } as Record<string, unknown>;
  for (const method of methods) {
    const fn = inner[method] as (...args: unknown[]) => unknown;
    // Half the methods throw synchronously, half reject: the server must handle both.
    store[method] = (...args: unknown[]) =>
      state.down
        ? method.length % 2
          ? fail()
          : Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:6379"))
        : fn(...args);
  }
  return { store: store as unknown as SessionStore, state };
}

describe("a store that fails", () => {
  it("gives 503 BACKEND_UNAVAILABLE without internals, and the session is there once it is back", async () => {
    const { store, state } = flakyStore();
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (line: string) => errors.push(line) };
    const { alice } = setup({ logger }, store);
    const created = (await alice.put("/v1/sessions/a", { data: "kept" })).body.session;

    state.down = true;
    const replies = [
      await alice.get("/v1/sessions/a"),
      await alice.put("/v1/sessions/a", { data: "lost" }),
      await alice.post("/v1/sessions/a/touch"),
      await alice.delete("/v1/sessions/a"),
      await alice.get("/v1/sessions"),
      await alice.delete("/v1/sessions"),
      await alice.get("/v1/changes"),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.body).toEqual({
        error: { code: "BACKEND_UNAVAILABLE", message: "the flaky store failed; try again later" },
      });
    }
    // The details go to the server's log only.
    expect(errors[0]).toContain("ECONNREFUSED 10.0.0.5:6379");

    state.down = false;
    expect((await alice.get("/v1/sessions/a")).body.session).toEqual(created);
  });

  it("fails at once for an unknown backend name or a browser store", () => {
    const auth = { secret: SECRET };
    expect(() => createSessionServer({ backend: "nosuch" as "memory", auth })).toThrow(
      BackendError,
    );
    expect(() => createSessionServer({ backend: "indexedDB" as "memory", auth })).toThrow(
      /backend must be a server store/,
    );
  });

  it("opens a store by name", async () => {
    const { alice } = setup({ backend: "memory" });
    expect((await alice.put("/v1/sessions/a")).status).toBe(201);
    expect((await alice.get("/v1/sessions/a")).status).toBe(200);
  });
});

describe("the sweep", () => {
  afterEach(() => vi.useRealTimers());

  it("deletes expired records of every owner every sweepInterval", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const purge = vi.fn();
    const inner = memoryStore();
    const store: SessionStore = {
      ...inner,
      purgeExpired: (now) => {
        purge(now);
        return inner.purgeExpired(now);
      },
    };
    const { server, alice, bob } = setup({ sweepInterval: "1s" }, store);
    await alice.put("/v1/sessions/short", { ttl: 500 });
    await bob.put("/v1/sessions/short", { ttl: 1500 });
    await alice.put("/v1/sessions/long", { ttl: 60_000 });

    await vi.advanceTimersByTimeAsync(1000);
    expect((await store.list()).map((r) => r.id).sort()).toEqual(["alice/long", "bob/short"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect((await store.list()).map((r) => r.id)).toEqual(["alice/long"]);
    expect(purge).toHaveBeenCalledTimes(2);

    await server.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(purge).toHaveBeenCalledTimes(2);
  });

  it("logs a sweep that fails and tries again next time", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const { store, state } = flakyStore();
    const warn = vi.fn();
    const logger = { debug() {}, info() {}, warn, error() {} };
    const { alice } = setup({ sweepInterval: "1s", logger }, store);
    await alice.put("/v1/sessions/a", { ttl: 100 });
    state.down = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("sweep failed"));
    state.down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(await store.list()).toEqual([]);
  });

  it("is off with sweepInterval 0", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const { alice, store } = setup({ sweepInterval: 0 });
    await alice.put("/v1/sessions/a", { ttl: 100 });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(await store.list()).toHaveLength(1);
  });
});

describe("close", () => {
  it("waits for requests under way, closes the store, and answers 503 afterwards", async () => {
    const { store, release, close } = gatedStore();
    const server = createSessionServer({ backend: store, auth: { secret: SECRET } });
    const alice = client(server, "alice");
    const pending = alice.put("/v1/sessions/a", { data: 1 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    expect(close).not.toHaveBeenCalled();
    release();
    expect((await pending).status).toBe(201);
    await closing;
    expect(close).toHaveBeenCalledOnce();
    const after = await alice.get("/v1/sessions/a");
    expect(after.status).toBe(503);
    expect(after.body.error.message).toBe("the server is closed");
    await server.close(); // twice is fine
    expect(close).toHaveBeenCalledOnce();
  });
});
