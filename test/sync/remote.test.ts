import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthError,
  BackendError,
  InvalidDataError,
  type Session,
  SessionManager,
} from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import {
  forgedToken,
  IN_PROCESS_URL,
  inProcessServer,
  ListeningServer,
  tokenFor,
  until,
} from "../helpers/sync-server.ts";

const managers: SessionManager<unknown>[] = [];
afterAll(async () => {
  for (const sm of managers.splice(0)) await sm.close();
});

/** A manager whose store is the server at `url`, as `token` says. */
function client(
  url: string,
  token: Parameters<typeof remoteStore>[0]["token"],
  fetch?: typeof globalThis.fetch,
) {
  // Polling only: these tests count requests, and stop the server under open managers.
  const store = remoteStore({ url, token, live: false, ...(fetch && { fetch }) });
  const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
  managers.push(sm);
  return sm;
}

describe("remote store over HTTP", () => {
  const server = new ListeningServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("keeps owners apart: managers with different tokens never see each other's sessions", async () => {
    const alice = client(server.url, await tokenFor("alice"));
    const bob = client(server.url, await tokenFor("bob"));
    await alice.add("shared-id", { data: "alice's" });
    expect(await bob.get("shared-id")).toBeUndefined();
    await bob.add("shared-id", { data: "bob's" }); // no SESSION_EXISTS: another owner's id
    expect((await alice.get("shared-id"))?.data).toBe("alice's");
    expect((await bob.list()).map((s) => s.data)).toEqual(["bob's"]);
    await alice.clear();
    expect((await bob.get("shared-id"))?.data).toBe("bob's");
  });

  it("shares an owner's sessions between managers with the same token", async () => {
    const token = await tokenFor("carol");
    const one = client(server.url, token);
    const two = client(server.url, token);
    const added = await one.add("s", { data: { n: 1 }, ttl: "10m" });
    expect(await two.get("s")).toMatchObject({ data: { n: 1 }, version: 1 });
    await expect(two.add("s", { data: {} })).rejects.toMatchObject({ code: "SESSION_EXISTS" });
    await two.update("s", { n: 2 });
    expect(await one.get("s")).toMatchObject({ data: { n: 2 }, version: 2 });
    // The server set createdAt, in its clock: the same instant, give or take the round trip.
    expect(Math.abs(((await one.get("s"))?.createdAt ?? 0) - added.createdAt)).toBeLessThan(50);
    expect(await one.remove("s")).toBe(true);
    expect(await two.get("s")).toBeUndefined();
  });

  it("refuses a forged token with AuthError, and nothing changes", async () => {
    const owner = client(server.url, await tokenFor("dave"));
    await owner.add("kept", { data: 1 });
    const forged = client(server.url, await forgedToken("dave"));
    await expect(forged.add("new", { data: 2 })).rejects.toBeInstanceOf(AuthError);
    await expect(forged.remove("kept")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(forged.clear()).rejects.toBeInstanceOf(AuthError);
    expect((await owner.list()).map((s) => s.id)).toEqual(["kept"]);
  });

  it("refuses an expired token with AuthError", async () => {
    const expired = client(server.url, await tokenFor("erin", -60));
    await expect(expired.get("x")).rejects.toBeInstanceOf(AuthError);
  });

  it("asks a token function again once on 401, then uses the new token", async () => {
    const tokens = [await tokenFor("frank", -60), await tokenFor("frank")];
    let calls = 0;
    const sm = client(server.url, async () => tokens[Math.min(calls++, 1)] as string);
    await sm.add("a", { data: 1 });
    await sm.get("a");
    expect(calls).toBe(2);
  });

  it("gives up with AuthError when the refreshed token is refused too", async () => {
    let calls = 0;
    const store = remoteStore({
      url: server.url,
      token: () => {
        calls++;
        return forgedToken("gina");
      },
    });
    await expect(store.get("a")).rejects.toBeInstanceOf(AuthError);
    expect(calls).toBe(2);
  });

  it("fails with BackendError while the server is down, and works again when it is back", async () => {
    const sm = client(server.url, await tokenFor("hal"));
    await sm.add("before", { data: 1 });
    await server.stop();
    try {
      await expect(sm.get("before")).rejects.toBeInstanceOf(BackendError);
      await expect(sm.add("during", { data: 2 })).rejects.toMatchObject({
        code: "BACKEND_UNAVAILABLE",
      });
    } finally {
      await server.start(); // same port, same store: nothing was lost
    }
    expect((await sm.get("before"))?.data).toBe(1);
    expect(await sm.get("during")).toBeUndefined();
  });

  it("hears what other clients change, by pulling every pullInterval, and not its own writes", async () => {
    const token = await tokenFor("ivy");
    const other = client(server.url, token);
    await other.add("old", { data: 0, ttl: "10m" });
    const sm = new SessionManager<unknown>({
      backend: remoteStore({ url: server.url, token, pullInterval: 50, live: false }),
      warnBefore: "1m",
    });
    managers.push(sm);
    await sm.ready;
    const heard: string[] = [];
    const warned: string[] = [];
    for (const event of ["added", "touched", "updated", "removed"] as const) {
      sm.on(event, (session: Session<unknown>) => heard.push(`${event} ${session.id}`));
    }
    sm.onExpiringSoon((session) => warned.push(session.id));
    const hears = (line: string) => until(() => heard.includes(line), 3000);

    await other.add("new", { data: 1, ttl: "61s" }); // within warnBefore: warned here at once
    await hears("added new");
    await until(() => warned.includes("new"), 3000);
    await other.touch("old");
    await hears("touched old");
    await other.update("old", 2);
    await hears("updated old");
    expect((await sm.get("old"))?.data).toBe(2);
    await other.remove("old");
    await hears("removed old");
    // Its own writes fire once, from the write itself: pulls find nothing new in them.
    await sm.add("mine", { data: 3 });
    await sm.update("mine", 4);
    await new Promise((resolve) => setTimeout(resolve, 300)); // several pulls
    expect(heard).toEqual([
      "added new",
      "touched old",
      "updated old",
      "removed old",
      "added mine",
      "updated mine",
    ]);
  });

  it("keeps pulling quietly while the server is down, and hears changes once it is back", async () => {
    const token = await tokenFor("jack");
    const sm = new SessionManager<unknown>({
      backend: remoteStore({ url: server.url, token, pullInterval: 50, live: false }),
    });
    managers.push(sm);
    await sm.ready;
    const errors: Error[] = [];
    const added: string[] = [];
    sm.on("error", (error) => errors.push(error));
    sm.on("added", (session) => added.push(session.id));
    await server.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // failed pulls
    } finally {
      await server.start();
    }
    await client(server.url, token).add("later", { data: 1 });
    await until(() => added.includes("later"), 3000);
    expect(errors).toEqual([]);
  });
});

describe("remote store in process", () => {
  it('is what backend: "remote" makes, and the remote option beside a local backend', async () => {
    const { server, fetch } = inProcessServer();
    const remote = { url: IN_PROCESS_URL, token: await tokenFor("wired"), fetch };
    const direct = new SessionManager({ backend: "remote", remote });
    await direct.add("s", { data: "from the server" });
    // A replica pulls when it opens (and then every 30 s, and on wake).
    const replica = new SessionManager({ backend: "memory", remote, namespace: "wired" });
    managers.push(direct, replica);
    await until(async () => (await replica.get("s"))?.data === "from the server");
    await replica.update("s", "from the replica");
    await until(async () => (await direct.get("s"))?.data === "from the replica");
    await server.close();
  });

  it("adds a new session in one request, and still refuses a taken id", async () => {
    const { server, fetch } = inProcessServer();
    const requests: string[] = [];
    const counting = ((input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      return fetch(request);
    }) as typeof globalThis.fetch;
    const sm = client(IN_PROCESS_URL, await tokenFor("kim"), counting);
    await sm.ready;
    requests.length = 0;
    await sm.add("s", { data: 1 });
    expect(requests).toEqual(["PUT /api/v1/sessions/s"]);
    await expect(sm.add("s", { data: 2 })).rejects.toMatchObject({ code: "SESSION_EXISTS" });
    expect((await sm.get("s"))?.data).toBe(1);
    await server.close();
  });

  it("maps the server's refusals to the SDK's errors", async () => {
    const { server, fetch } = inProcessServer(memoryStore(), { limits: { data: 64 } });
    const sm = client(IN_PROCESS_URL, await tokenFor("ida"), fetch);
    await expect(sm.add("big", { data: "x".repeat(100) })).rejects.toBeInstanceOf(InvalidDataError);
    await server.close();
  });

  it("fires expired once for a session the server expired, then stops asking", async () => {
    const { server, fetch } = inProcessServer();
    let requests = 0;
    const counting: typeof globalThis.fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const store = remoteStore({
      url: IN_PROCESS_URL,
      token: await tokenFor("jo"),
      fetch: counting,
    });
    const sm = new SessionManager({ backend: store, warnBefore: "100ms" });
    managers.push(sm);
    const events: string[] = [];
    sm.onExpiringSoon((s) => events.push(`soon ${s.id}`));
    sm.onExpired((s) => events.push(`expired ${s.id}`));
    await sm.add("short", { data: 1, ttl: "300ms" });
    await until(() => events.length === 2);
    expect(events).toEqual(["soon short", "expired short"]);
    const after = requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requests).toBe(after);
    expect(events).toHaveLength(2);
    expect(await sm.get("short")).toBeUndefined();
    await server.close();
  });

  it("retries a conditional write whose answer was lost, and finds by reading that it landed", async () => {
    const { server, fetch, store } = inProcessServer();
    let dropped = 0;
    const flaky: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      // The write reaches the server, the answer never comes back: once.
      if (request.method === "PUT" && request.headers.has("if-match") && dropped++ === 0) {
        throw new TypeError("fetch failed: socket hang up");
      }
      return response;
    };
    const sm = client(IN_PROCESS_URL, await tokenFor("kim"), flaky);
    await sm.add("s", { data: 1 });
    const updated = await sm.update("s", 2);
    expect(dropped).toBe(2); // the retry went out, and its 412 was read as "it landed"
    expect(updated).toMatchObject({ data: 2, version: 2 });
    expect(await store.get("kim/s")).toMatchObject({ data: 2, version: 2 });
    await server.close();
  });

  it("does not retry a write without a condition", async () => {
    const { server, fetch } = inProcessServer();
    let puts = 0;
    const failing: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.method === "PUT") {
        puts++;
        throw new TypeError("fetch failed");
      }
      return fetch(request);
    };
    const store = remoteStore({
      url: IN_PROCESS_URL,
      token: await tokenFor("lee"),
      fetch: failing,
    });
    const now = Date.now();
    const record = {
      id: "a",
      data: 1,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + 60_000,
      ttl: 60_000,
      version: 1,
    };
    await expect(store.set(record)).rejects.toBeInstanceOf(BackendError);
    expect(puts).toBe(1);
    await expect(store.set(record, { ifAbsent: true })).rejects.toBeInstanceOf(BackendError);
    expect(puts).toBe(4); // a conditional write is retried (2 retries by default)
    await server.close();
  });
});
