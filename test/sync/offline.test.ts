// Offline-first against a real server on a real port: the server goes away and comes back (same
// port, same store), and every write made meanwhile arrives, in order, exactly once.
import { afterEach, describe, expect, it } from "vitest";
import { type Session, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import type { SessionStore } from "../../src/stores/types.ts";
import { OUTBOX_ID } from "../../src/sync/outbox.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import {
  inProcessServer,
  ListeningServer,
  Network,
  tokenFor,
  until,
} from "../helpers/sync-server.ts";

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

function client(url: string, token: string, fetch: typeof globalThis.fetch, retry = 2) {
  const local = memoryStore();
  // Polling only: these tests count the sync's requests.
  const store = replicaStore(local, { url, token, fetch, retry, live: false });
  const sm = new SessionManager<unknown>({ backend: store, warnBefore: 0 });
  const errors: Error[] = [];
  sm.on("error", (error) => errors.push(error));
  closing.push(() => sm.close());
  return { sm, store, local, errors };
}

async function queued(local: SessionStore): Promise<number> {
  return ((await local.get(OUTBOX_ID))?.data as { ops: unknown[] } | undefined)?.ops.length ?? 0;
}

/** Sessions as both sides must agree on them. */
function state(sessions: Session<unknown>[]) {
  return sessions
    .map(({ id, data, version, ttl }) => ({ id, data, version, ttl }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe("offline, then back", () => {
  it("queues every write while the server is down and pushes them all, in order, when it is back", async () => {
    const server = await new ListeningServer().start();
    closing.push(() => server.stop());
    const token = await tokenFor("alice");
    const network = new Network();
    const a = client(server.url, token, network.fetch);
    for (const id of ["keep-1", "keep-2", "keep-3"]) await a.sm.add(id, { data: 0 });
    expect(await a.store.sync()).toBe(true);

    await server.stop();
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    for (const id of ids) await a.sm.add(id, { data: { n: 0 }, ttl: "1h" });
    for (let round = 1; round <= 3; round++) {
      for (const id of ids) await a.sm.update(id, { n: round });
    }
    for (const id of ids.slice(0, 5)) await a.sm.touch(id, "2h");
    for (const id of ids.slice(15)) await a.sm.remove(id);
    await a.sm.remove("keep-1");
    await a.sm.update("keep-2", 1);
    // Offline, the replica answers from its local store.
    expect((await a.sm.list()).length).toBe(3 - 1 + 20 - 5);
    expect(await a.store.sync()).toBe(false);
    expect(await queued(a.local)).toBe(20 * 4 + 5 + 5 + 2);

    await server.start(); // same port, same store
    await until(async () => (await queued(a.local)) === 0, 20_000); // by itself, after back-off
    const b = client(server.url, token, new Network().fetch);
    await b.store.sync();
    expect(state(await b.sm.list())).toEqual(state(await a.sm.list()));
    expect(state(await a.sm.list())).toContainEqual({
      id: "s0",
      data: { n: 3 },
      version: 5,
      ttl: 3_600_000,
    });

    // Every write arrived once, in the order it was made.
    for (const [i, id] of ids.entries()) {
      const writes = ["PUT@*", 'PUT@"1"', 'PUT@"2"', 'PUT@"3"'];
      if (i < 5) writes.push('PUT@"4"');
      if (i >= 15) writes.push('DELETE@"4"');
      expect(network.taken(id)).toEqual(writes);
    }
    expect(network.taken("keep-1")).toEqual(["PUT@*", 'DELETE@"1"']);
    expect(network.taken("keep-2")).toEqual(["PUT@*", 'PUT@"1"']);
    expect(a.errors).toEqual([]);
  }, 30_000);

  it("backs off, doubling the wait, while the server cannot be reached", async () => {
    const { server, fetch } = inProcessServer();
    closing.push(() => server.close());
    const network = new Network(fetch);
    network.online = false;
    const attempts: number[] = [];
    const watched: typeof globalThis.fetch = (input, init) => {
      attempts.push(Date.now());
      return network.fetch(input, init);
    };
    const a = client("http://sessions.test/api", await tokenFor("cy"), watched, 0);
    await a.sm.add("s", { data: 1 });
    await until(() => attempts.length >= 4, 6000);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    // 0.5 s, 1 s, 2 s, each ±20%: every wait at least a third longer than the one before.
    for (let i = 1; i < gaps.length; i++) {
      expect(gaps[i]).toBeGreaterThan((gaps[i - 1] as number) * 1.3);
    }
    network.online = true;
    expect(await a.store.sync()).toBe(true); // as a wake (focus, online) would
    expect(network.taken("s")).toEqual(["PUT@*"]);
  }, 10_000);

  it("does not reorder or lose writes when requests fail at random, before or after the server", async () => {
    const { server, fetch, store } = inProcessServer();
    closing.push(() => server.close());
    const network = new Network(fetch);
    const random = seeded(42);
    // A third of the requests never arrive; a sixth arrive but their answer is lost.
    const flaky: typeof globalThis.fetch = async (input, init) => {
      const roll = random();
      if (roll < 1 / 3) throw new TypeError("fetch failed: connection reset");
      const response = await network.fetch(input, init);
      if (roll < 1 / 2) throw new TypeError("fetch failed: socket hang up");
      return response;
    };
    const a = client("http://sessions.test/api", await tokenFor("bob"), flaky, 1);
    const ids = ["a", "b", "c", "d"];
    for (const id of ids) await a.sm.add(id, { data: 0 });
    for (let n = 1; n <= 10; n++) {
      for (const id of ids) await a.sm.update(id, n);
      void a.store.sync(); // pushes race the writes
    }
    await a.sm.remove("d");
    for (let i = 0; i < 50 && (await queued(a.local)) > 0; i++) await a.store.sync();
    expect(await queued(a.local)).toBe(0);
    for (const id of ["a", "b", "c"]) {
      const expected = ["PUT@*", ...Array.from({ length: 10 }, (_, v) => `PUT@"${v + 1}"`)];
      expect(network.taken(id)).toEqual(expected);
      expect(await store.get(`bob/${id}`)).toMatchObject({ data: 10, version: 11 });
    }
    expect(await store.get("bob/d")).toBeUndefined();
    expect(a.errors).toEqual([]); // a write that landed unanswered is no conflict
  }, 30_000);
});

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
