import { afterEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  type EncryptionOptions,
  InvalidDataError,
  type Session,
  SessionManager,
} from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { OUTBOX_ID } from "../../src/sync/outbox.ts";
import { type ReplicaOptions, type ReplicaStore, replicaStore } from "../../src/sync/replica.ts";
import {
  forgedToken,
  IN_PROCESS_URL,
  inProcessServer,
  Network,
  tokenFor,
  until,
} from "../helpers/sync-server.ts";
import { testStore } from "../stores/conformance.ts";

const offline: typeof fetch = async () => {
  throw new TypeError("fetch failed: offline");
};

// Offline, a replica is its local store plus a queue: it must be a store like any other.
testStore({
  name: "replica (offline)",
  create: () => replicaStore(memoryStore(), { url: IN_PROCESS_URL, token: "t", fetch: offline }),
});

interface Client {
  sm: SessionManager<unknown>;
  store: ReplicaStore;
  local: SessionStore;
  /** What listeners heard: `event id vVersion`. */
  events: string[];
  errors: Error[];
}

const open: Client[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.sm.close();
  for (const s of servers.splice(0)) await s.close();
});

function replica(
  options: ReplicaOptions,
  local: SessionStore = memoryStore(),
  encryption?: EncryptionOptions,
): Client {
  // Polling only: these tests follow what each sync() brings; test/sync/live.test.ts streams.
  const store = replicaStore(local, { live: false, ...options });
  const sm = new SessionManager<unknown>({
    backend: store,
    warnBefore: 0,
    ...(encryption ? { encryption } : {}),
  });
  const events: string[] = [];
  const errors: Error[] = [];
  const log = (event: string) => (s: Session<unknown>) =>
    events.push(`${event} ${s.id} v${s.version}`);
  for (const event of ["added", "updated", "touched", "removed"] as const) sm.on(event, log(event));
  sm.on("error", (error) => errors.push(error));
  const client = { sm, store, local, events, errors };
  open.push(client);
  return client;
}

/** A server in process, and a network to it for each of two clients. */
function setup(): { store: SessionStore; networks: [Network, Network] } {
  const { server, fetch, store } = inProcessServer();
  servers.push(server);
  return { store, networks: [new Network(fetch), new Network(fetch)] };
}

/** `a` and `b` both edit session "s" (at "base", version 1) offline; `a` pushes first. */
async function editBothOffline(a: Client, b: Client, [na, nb]: [Network, Network]): Promise<void> {
  await a.sm.add("s", { data: "base" });
  await a.store.sync();
  await b.store.sync();
  na.online = false;
  nb.online = false;
  await a.sm.update("s", "by a");
  await b.sm.update("s", "by b");
  na.online = true;
  expect(await a.store.sync()).toBe(true);
  nb.online = true;
  await b.store.sync();
}

async function queued(local: SessionStore): Promise<number> {
  const outbox = await local.get(OUTBOX_ID);
  return (outbox?.data as { ops?: unknown[] } | undefined)?.ops?.length ?? 0;
}

describe("replica store", () => {
  it("follows another client's adds, updates, touches and removes after a pull", async () => {
    const { networks } = setup();
    const token = await tokenFor("alice");
    const a = replica({ url: IN_PROCESS_URL, token, fetch: networks[0].fetch });
    const b = replica({ url: IN_PROCESS_URL, token, fetch: networks[1].fetch });
    await a.sm.add("s", { data: { n: 1 }, ttl: "10m" });
    expect(await a.store.sync()).toBe(true);
    expect(await b.store.sync()).toBe(true);
    expect(await b.sm.get("s")).toMatchObject({ data: { n: 1 }, version: 1 });
    await a.sm.update("s", { n: 2 });
    await a.sm.touch("s", "20m");
    await a.store.sync();
    await b.store.sync();
    expect(await b.sm.get("s")).toMatchObject({ data: { n: 2 }, version: 3 });
    await a.sm.remove("s");
    await a.store.sync();
    await b.store.sync();
    expect(await b.sm.get("s")).toBeUndefined();
    expect(b.events).toEqual(["added s v1", "updated s v3", "removed s v3"]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it("tells a touch from an update: same data, later expiry", async () => {
    const { networks } = setup();
    const token = await tokenFor("bea");
    const a = replica({ url: IN_PROCESS_URL, token, fetch: networks[0].fetch });
    const b = replica({ url: IN_PROCESS_URL, token, fetch: networks[1].fetch });
    await a.sm.add("s", { data: "same", ttl: "10m" });
    await a.store.sync();
    await b.store.sync();
    const touched = await a.sm.touch("s", "1h");
    await a.store.sync();
    await b.store.sync();
    expect(b.events).toEqual(["added s v1", "touched s v2"]);
    const seen = await b.sm.get("s");
    expect(Math.abs((seen?.expiresAt ?? 0) - touched.expiresAt)).toBeLessThan(1000);
  });

  it("keeps owners apart", async () => {
    const { networks } = setup();
    const a = replica({
      url: IN_PROCESS_URL,
      token: await tokenFor("cy"),
      fetch: networks[0].fetch,
    });
    const b = replica({
      url: IN_PROCESS_URL,
      token: await tokenFor("di"),
      fetch: networks[1].fetch,
    });
    await a.sm.add("s", { data: "cy's" });
    await b.sm.add("s", { data: "di's" });
    await a.store.sync();
    await b.store.sync();
    await a.store.sync();
    expect((await a.sm.get("s"))?.data).toBe("cy's");
    expect((await b.sm.get("s"))?.data).toBe("di's");
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect([...a.events, ...b.events]).toEqual(["added s v1", "added s v1"]); // their own adds
  });

  it("pulls on its own, every pullInterval", async () => {
    const { networks } = setup();
    const token = await tokenFor("ed");
    const a = replica({ url: IN_PROCESS_URL, token, fetch: networks[0].fetch });
    const b = replica({ url: IN_PROCESS_URL, token, fetch: networks[1].fetch, pullInterval: 50 });
    await a.sm.add("s", { data: 1 }); // pushed by itself, right after the write
    await until(() => b.events.includes("added s v1"));
  });

  it("reports a conflict: the server's copy wins, the loser hears both versions", async () => {
    const { networks, store } = setup();
    const token = await tokenFor("flo");
    const a = replica({ url: IN_PROCESS_URL, token, fetch: networks[0].fetch });
    const b = replica({ url: IN_PROCESS_URL, token, fetch: networks[1].fetch });
    await editBothOffline(a, b, networks);
    expect((await b.sm.get("s"))?.data).toBe("by a");
    expect(await store.get("flo/s")).toMatchObject({ data: "by a", version: 2 });
    expect(b.errors).toHaveLength(1);
    const conflict = b.errors[0] as ConflictError & { local: SessionRecord; server: SessionRecord };
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.local).toMatchObject({ data: "by b", version: 2 });
    expect(conflict.server).toMatchObject({ data: "by a", version: 2 });
    expect(b.events).toContain("updated s v2");
    expect(await queued(b.local)).toBe(0);
    expect(a.errors).toEqual([]);
  });

  it("opens the two copies of a conflict when they are sealed (encryption at rest)", async () => {
    const { networks } = setup();
    const token = await tokenFor("gus");
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const sealed = (fetch: typeof globalThis.fetch) =>
      replica({ url: IN_PROCESS_URL, token, fetch }, memoryStore(), { key });
    const a = sealed(networks[0].fetch);
    const b = sealed(networks[1].fetch);
    await editBothOffline(a, b, networks);
    await until(() => b.errors.length > 0);
    const [conflict] = b.errors as ConflictError[];
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict?.id).toBe("s");
    expect(conflict?.local).toMatchObject({ data: "by b", version: 2 });
    expect(conflict?.server).toMatchObject({ data: "by a", version: 2 });
    expect((await b.sm.get("s"))?.data).toBe("by a");
  });

  it("does not bring back a session removed elsewhere from a stale queued write", async () => {
    const { networks, store } = setup();
    const [na, nb] = networks;
    const token = await tokenFor("gus");
    const a = replica({ url: IN_PROCESS_URL, token, fetch: na.fetch });
    const b = replica({ url: IN_PROCESS_URL, token, fetch: nb.fetch });
    await a.sm.add("s", { data: 1 });
    await a.store.sync();
    await b.store.sync();
    nb.online = false;
    await a.sm.remove("s");
    await a.store.sync();
    await b.sm.update("s", 2); // b has not heard of the removal
    await b.sm.touch("s");
    nb.online = true;
    await b.store.sync();
    expect(await store.get("gus/s")).toBeUndefined();
    expect(await b.sm.get("s")).toBeUndefined();
    expect(b.events).toContain("removed s v3");
    expect(b.errors).toHaveLength(1);
    expect(b.errors[0]).toMatchObject({ code: "CONFLICT", server: undefined });
    expect(nb.taken("s")).toEqual([]); // neither queued write was taken
  });

  it("reports a write the server will never take, and keeps the server's copy", async () => {
    const { server, fetch } = inProcessServer(memoryStore(), { limits: { data: 64 } });
    servers.push(server);
    const a = replica({ url: IN_PROCESS_URL, token: await tokenFor("hu"), fetch });
    await a.sm.add("big", { data: "x".repeat(100) }); // fine locally
    await a.store.sync();
    expect(a.errors[0]).toBeInstanceOf(InvalidDataError);
    expect(await a.sm.get("big")).toBeUndefined();
    expect(a.events).toEqual(["added big v1", "removed big v1"]);
    expect(await queued(a.local)).toBe(0);
  });

  it("reports a refused token once, and keeps the queue until a token works", async () => {
    const { networks } = setup();
    let good = false;
    const token = () => (good ? tokenFor("ivy") : forgedToken("ivy"));
    const a = replica({ url: IN_PROCESS_URL, token, fetch: networks[0].fetch });
    await a.sm.add("s", { data: 1 });
    for (let i = 0; i < 3; i++) expect(await a.store.sync()).toBe(false);
    expect(a.errors.map((e) => e.name)).toEqual(["AuthError"]);
    expect(await queued(a.local)).toBe(1);
    good = true;
    expect(await a.store.sync()).toBe(true);
    expect(await queued(a.local)).toBe(0);
    expect(networks[0].taken("s")).toEqual(["PUT@*"]);
  });

  it("syncs sealed data end to end, and keeps a passphrase's salt local", async () => {
    const { networks, store } = setup();
    const token = await tokenFor("lou");
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const sealed = (fetch: typeof globalThis.fetch, encryption: EncryptionOptions, as = token) => {
      const backend = replicaStore(memoryStore(), { url: IN_PROCESS_URL, token: as, fetch });
      const sm = new SessionManager<unknown>({ backend, encryption });
      const errors: Error[] = [];
      sm.on("error", (error) => errors.push(error));
      return { sm, backend, errors };
    };
    const a = sealed(networks[0].fetch, { key });
    await a.sm.add("s", { data: { card: "4111" } });
    await a.backend.sync();
    const onServer = await store.get("lou/s");
    expect(onServer?.encrypted).toBe(true);
    expect(JSON.stringify(onServer?.data)).not.toContain("4111");
    const b = sealed(networks[1].fetch, { key }); // pulls when it opens
    await until(async () => (await b.sm.get("s")) !== undefined);
    expect((await b.sm.get("s"))?.data).toEqual({ card: "4111" });
    // The salt of a passphrase is a record of the manager's own: it never leaves the replica.
    const other = await tokenFor("lou's other app");
    const c = sealed(networks[1].fetch, { passphrase: "correct horse" }, other);
    await c.sm.add("p", { data: 1 });
    await c.backend.sync();
    expect(await store.get(`${encodeURIComponent("lou's other app")}/p`)).toMatchObject({
      encrypted: true,
    });
    expect(networks[1].writes.every((w) => w.id.length <= 256)).toBe(true);
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
    for (const { sm } of [a, b, c]) await sm.close();
  });

  it("calls the context's synced() after a sync that pushed everything and pulled", async () => {
    const { networks } = setup();
    const store = replicaStore(memoryStore(), {
      live: false,
      url: IN_PROCESS_URL,
      token: await tokenFor("jay"),
      fetch: networks[0].fetch,
    });
    let synced = 0;
    await store.open?.({ report: () => {}, synced: () => synced++ } as never);
    await until(() => synced === 1);
    networks[0].online = false;
    expect(await store.sync()).toBe(false);
    expect(synced).toBe(1);
    await store.close?.();
  });

  it("stops its timers and requests when closed", async () => {
    const { networks } = setup();
    const [network] = networks;
    const store = replicaStore(memoryStore(), {
      url: IN_PROCESS_URL,
      token: await tokenFor("kit"),
      fetch: network.fetch,
      pullInterval: 20,
    });
    await store.open?.({ report: () => {} });
    await until(() => network.requests >= 3);
    await store.close?.();
    const after = network.requests;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(network.requests).toBe(after);
  });
});
