// The client side of the server's limits: the quota surfaces as `QuotaError`, lists follow the
// server's pages, a queued write the server refuses for good is dropped, rolled back and
// reported without blocking the queue, and nothing the server sends under an id no session may
// have (the outbox's) reaches the local store.
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, QuotaError, type Session, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { OUTBOX_ID } from "../../src/sync/outbox.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor } from "../helpers/sync-server.ts";

const HOUR = 3_600_000;

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** A server in process, and a fetch to it that can be cut off and that records each answer. */
function server(options: Parameters<typeof inProcessServer>[1] = {}) {
  const { server, fetch, store } = inProcessServer(memoryStore(), options);
  closing.push(() => server.close());
  const net = {
    online: true,
    /** The most sessions any one answer carried (`sessions`, `changed`). */
    largest: 0,
    /** Pages of `GET /v1/sessions` answered. */
    pages: 0,
    /** Answers to hand back instead of the server's, by method and session id. */
    refuse: new Map<string, Response>(),
    fetch: (async (input, init) => {
      if (!net.online) throw new TypeError("fetch failed: offline");
      const request = new Request(input, init);
      const id = /\/sessions\/([^/?]+)$/.exec(new URL(request.url).pathname)?.[1];
      const refusal = id && net.refuse.get(`${request.method} ${decodeURIComponent(id)}`);
      if (refusal) return refusal.clone();
      const response = await fetch(request);
      const body = await response.clone().json();
      if (Array.isArray(body.sessions)) net.pages++;
      const many = Math.max(body.sessions?.length ?? 0, body.changed?.length ?? 0);
      net.largest = Math.max(net.largest, many);
      return response;
    }) as typeof globalThis.fetch,
  };
  return { store, net };
}

function manager(store: SessionStore) {
  const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
  const errors: Error[] = [];
  const events: string[] = [];
  sm.on("error", (error) => errors.push(error));
  for (const event of ["added", "updated", "removed"] as const) {
    sm.on(event, (s: Session<unknown>) => events.push(`${event} ${s.id}`));
  }
  closing.push(() => sm.close());
  return { sm, errors, events };
}

async function replica(fetch: typeof globalThis.fetch, owner = "alice") {
  const local = memoryStore();
  // Polling only (net.fetch reads every answer whole, which a stream never is).
  const token = await tokenFor(owner);
  const store = replicaStore(local, { url: IN_PROCESS_URL, token, fetch, live: false });
  return { ...manager(store), store, local };
}

async function remote(fetch: typeof globalThis.fetch, owner = "alice") {
  const token = await tokenFor(owner);
  const store = remoteStore({ url: IN_PROCESS_URL, token, fetch, live: false });
  return { ...manager(store), store };
}

async function queued(local: SessionStore): Promise<unknown[]> {
  return ((await local.get(OUTBOX_ID))?.data as { ops?: unknown[] } | undefined)?.ops ?? [];
}

/** Records of `owner` written straight into the server's store, past its API. */
async function plant(store: SessionStore, owner: string, records: SessionRecord[]): Promise<void> {
  const partition = partitionOf(store, owner);
  for (const record of records) await partition.set(record);
}

function record(id: string, data: unknown = id): SessionRecord {
  const now = Date.now();
  return { id, data, createdAt: now, updatedAt: now, expiresAt: now + HOUR, ttl: HOUR, version: 1 };
}

const many = (count: number) =>
  Array.from({ length: count }, (_, i) => record(`s${String(i).padStart(3, "0")}`));

describe("the quota", () => {
  it("surfaces as QuotaError from the remote store, and replacing is still allowed", async () => {
    const { net } = server({ maxSessionsPerOwner: 2 });
    const { sm } = await remote(net.fetch);
    await sm.add("a", { data: 1 });
    await sm.add("b", { data: 1 });
    const refused = sm.add("c", { data: 1 });
    await expect(refused).rejects.toBeInstanceOf(QuotaError);
    await expect(refused).rejects.toMatchObject({
      code: "QUOTA_EXCEEDED",
      message: expect.stringMatching(/\b2\b/),
    });
    expect(await sm.get("c")).toBeUndefined();
    expect((await sm.update("a", 2)).data).toBe(2);
    expect((await sm.list()).map((s) => s.id).sort()).toEqual(["a", "b"]);
  });
});

describe("paged lists", () => {
  it("the remote store lists every session, 100 at a time", async () => {
    const { store, net } = server();
    await plant(store, "alice", many(250));
    // The store alone: a manager would list it too when it opens.
    const remoteOne = remoteStore({
      url: IN_PROCESS_URL,
      token: await tokenFor("alice"),
      fetch: net.fetch,
    });
    closing.push(async () => remoteOne.close?.());
    const listed = await remoteOne.list();
    expect(listed.map((r) => r.id)).toEqual(many(250).map((r) => r.id));
    expect(net.largest).toBe(100);
    expect(net.pages).toBe(3);
  });

  it("refuses a server that sends the same next again (a list that would never end)", async () => {
    const { net } = server();
    const looping = (async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname.endsWith("/v1/sessions")) {
        return Response.json({ sessions: [], next: "again" });
      }
      return net.fetch(request);
    }) as typeof globalThis.fetch;
    const store = remoteStore({
      url: IN_PROCESS_URL,
      token: await tokenFor("alice"),
      fetch: looping,
    });
    closing.push(async () => store.close?.());
    await expect(store.list()).rejects.toThrow(/malformed list/);
  });

  it("the replica's first pull takes every session, 100 at a time", async () => {
    const { store, net } = server();
    await plant(store, "alice", many(250));
    const a = await replica(net.fetch);
    expect(await a.store.sync()).toBe(true);
    expect((await a.sm.list()).length).toBe(250);
    // Three pages (the pulls after it ask /v1/changes what changed since, unpaged until #13).
    expect(net.pages).toBe(3);
    // Later pulls ask for what changed since (in the server's change log: written through it).
    await (await remote(net.fetch)).sm.add("later", { data: "later" });
    expect(await a.store.sync()).toBe(true);
    expect((await a.sm.get("later"))?.data).toBe("later");
  });
});

describe("a queued write the server refuses for good", () => {
  it("is dropped, rolled back and reported as QuotaError; the next queued write goes through", async () => {
    const { net } = server({ maxSessionsPerOwner: 2 });
    const a = await replica(net.fetch);
    await a.sm.add("a", { data: 1 });
    await a.sm.add("b", { data: 1 });
    expect(await a.store.sync()).toBe(true);

    net.online = false;
    await a.sm.add("c", { data: 1 }); // offline: taken locally, refused by the server later
    await a.sm.update("c", 2);
    await a.sm.update("a", 2);
    await a.sm.add("d", { data: 1 });
    net.online = true;
    expect(await a.store.sync()).toBe(true);

    expect(await queued(a.local)).toEqual([]);
    expect(await a.sm.get("c")).toBeUndefined();
    expect(await a.sm.get("d")).toBeUndefined();
    expect(a.events).toEqual(expect.arrayContaining(["removed c", "removed d"]));
    expect(a.errors).toHaveLength(2);
    for (const error of a.errors) expect(error).toBeInstanceOf(QuotaError);
    // The write queued after the refused ones went through.
    const b = await replica(net.fetch);
    expect(await b.store.sync()).toBe(true);
    expect((await b.sm.list()).map((s) => [s.id, s.data]).sort()).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
  });

  it("takes the server's copy back on a 400 BAD_REQUEST, and reports the BackendError", async () => {
    const { net } = server();
    const a = await replica(net.fetch);
    await a.sm.add("s", { data: "server's" });
    expect(await a.store.sync()).toBe(true);
    const body = { error: { code: "BAD_REQUEST", message: "no" } };
    net.refuse.set("PUT s", Response.json(body, { status: 400 }));
    await a.sm.update("s", "refused");
    await a.sm.add("t", { data: 1 });
    expect(await a.store.sync()).toBe(true);
    expect((await a.sm.get("s"))?.data).toBe("server's");
    expect(a.errors).toEqual([expect.any(BackendError)]);
    expect(a.errors[0]).toMatchObject({ status: 400 });
    expect(await queued(a.local)).toEqual([]);
    expect((await a.sm.get("t"))?.version).toBe(1);
  });

  it("stays queued on a 503 or a 401, as before", async () => {
    const { net } = server();
    const a = await replica(net.fetch);
    await a.sm.add("s", { data: 1 });
    const body = (code: string) => ({ error: { code, message: "later" } });
    for (const [status, code] of [
      [503, "BACKEND_UNAVAILABLE"],
      [401, "UNAUTHORIZED"],
    ] as const) {
      net.refuse.set("PUT s", Response.json(body(code), { status }));
      expect(await a.store.sync()).toBe(false);
      expect(await queued(a.local)).toHaveLength(1);
      expect((await a.sm.get("s"))?.data).toBe(1);
    }
    net.refuse.clear();
    expect(await a.store.sync()).toBe(true);
    expect(await queued(a.local)).toEqual([]);
  });
});

describe("ids no session may have, sent by the server", () => {
  // What a forged record under the outbox's id would make the replica do: clear everything.
  const forged = () => record(OUTBOX_ID, { v: 1, ops: [{ n: 1, clear: true }], next: 2 });

  it("never reach the replica's store, on its first pull or a later one", async () => {
    for (const first of [true, false]) {
      const { store, net } = server();
      const a = await replica(net.fetch);
      await a.sm.add("mine", { data: 1 });
      if (first) await plant(store, "alice", [forged(), record("x".repeat(300))]);
      expect(await a.store.sync()).toBe(true);
      if (!first) {
        await plant(store, "alice", [forged(), record("x".repeat(300))]);
        expect(await a.store.sync()).toBe(true);
      }
      expect(await a.store.sync()).toBe(true);
      expect(await queued(a.local)).toEqual([]);
      expect((await a.local.list()).map((r) => r.id).sort()).toEqual(["mine", OUTBOX_ID]);
      // The owner's sessions are still on the server.
      const partition = partitionOf(store, "alice");
      expect((await partition.get("mine"))?.data).toBe(1);
      expect(a.errors).toEqual([]);
    }
  });

  it("are left out of the remote store's list", async () => {
    const { store, net } = server();
    await plant(store, "alice", [record("mine"), forged(), record("y".repeat(257))]);
    const { store: remoteOne } = await remote(net.fetch);
    expect((await remoteOne.list()).map((r) => r.id)).toEqual(["mine"]);
  });

  it("are refused in an answer about another session", async () => {
    const { net } = server();
    const { store } = await remote(net.fetch);
    const other = {
      id: "other",
      data: 1,
      createdAt: 1,
      updatedAt: 1,
      expiresAt: 2e12,
      ttl: 1,
      version: 1,
    };
    net.refuse.set("GET s", Response.json({ session: other }));
    await expect(store.get("s")).rejects.toThrow(/another session than asked for/);
  });
});
