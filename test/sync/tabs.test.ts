// Tabs share one local store (IndexedDB, localStorage): their replicas share its outbox, and Web
// Locks let one tab at a time push and pull. Node has no navigator.locks: a small one stands in.
import { afterAll, beforeAll, expect, it } from "vitest";
import { SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { OUTBOX_ID } from "../../src/sync/outbox.ts";
import { type ReplicaStore, replicaStore } from "../../src/sync/replica.ts";
import { IN_PROCESS_URL, inProcessServer, Network, tokenFor, until } from "./server.ts";

type Callback = (lock: Lock | null) => unknown;

/** Exclusive locks by name, with `ifAvailable`: what the tests need of `navigator.locks`. */
class Locks {
  private readonly held = new Map<string, Promise<void>>();
  requests: string[] = [];

  async request(name: string, options: LockOptions | Callback, callback?: Callback) {
    const [opts, fn] =
      typeof options === "function" ? [{}, options] : [options, callback as Callback];
    this.requests.push(name);
    if (opts.ifAvailable && this.held.has(name)) return fn(null);
    while (this.held.has(name)) await this.held.get(name);
    let release = () => {};
    this.held.set(name, new Promise((resolve) => (release = resolve)));
    try {
      return await fn({ name, mode: "exclusive" });
    } finally {
      this.held.delete(name);
      release();
    }
  }
}

const locks = new Locks();
beforeAll(() => {
  Object.defineProperty(globalThis, "navigator", { value: { locks }, configurable: true });
});
afterAll(() => {
  Reflect.deleteProperty(globalThis, "navigator");
});

it("lets tabs that share a store queue writes together and push them once, one tab at a time", async () => {
  const { server, fetch, store: serverStore } = inProcessServer();
  const shared: SessionStore = { ...memoryStore(), capabilities: { shared: true } };
  const token = await tokenFor("tabs");
  const networks: [Network, Network] = [new Network(fetch), new Network(fetch)];
  const tabs = networks.map((network) => {
    const store = replicaStore(shared, {
      url: IN_PROCESS_URL,
      token,
      fetch: network.fetch,
      namespace: "app",
    });
    const sm = new SessionManager<unknown>({ backend: store, namespace: "app", warnBefore: 0 });
    const errors: Error[] = [];
    sm.on("error", (error) => errors.push(error));
    return { sm, store: store as ReplicaStore, errors };
  });
  const [one, two] = tabs as [(typeof tabs)[0], (typeof tabs)[0]];
  for (const network of networks) network.online = false;
  const ids = ["a", "b", "c", "d", "e"];
  // Both tabs write at once, into one store and one outbox.
  await Promise.all(ids.map((id) => one.sm.add(id, { data: "one" })));
  await Promise.all([
    ...ids.map((id) => two.sm.update(id, "two")),
    ...ids.map((id) => two.sm.add(`${id}2`, { data: "two" })),
  ]);
  for (const network of networks) network.online = true;
  await Promise.all([one.store.sync(), two.store.sync()]); // one of them finds the lock taken
  await until(async () => {
    const outbox = await shared.get(OUTBOX_ID);
    return (outbox?.data as { ops?: unknown[] } | undefined)?.ops?.length === 0;
  });
  const taken = (id: string) => [...networks[0].taken(id), ...networks[1].taken(id)];
  for (const id of ids) {
    expect(taken(id)).toEqual(["PUT@*", 'PUT@"1"']);
    expect(await serverStore.get(`tabs/${id}`)).toMatchObject({ data: "two", version: 2 });
    expect(taken(`${id}2`)).toEqual(["PUT@*"]);
  }
  expect(locks.requests).toContain("sessionmanager:app:sync");
  expect(locks.requests).toContain("sessionmanager:app:outbox");
  expect([...one.errors, ...two.errors]).toEqual([]);
  for (const tab of tabs) await tab.sm.close();
  await server.close();
});
