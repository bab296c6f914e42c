// Issue 11: a session whose data nests deeper than MAX_DATA_DEPTH (64), planted in the server's
// store past its API, is left out of a pull and reported (BackendError on `error`), and the
// other sessions of the same answer are applied: in a list (the first pull) and in the changes.
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { SessionRecord, SessionStore } from "../../src/stores/types.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { IN_PROCESS_URL, inProcessServer, tokenFor } from "../helpers/sync-server.ts";

const HOUR = 3_600_000;

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** `levels` arrays in one another, built without recursion. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function record(id: string, data: unknown = id): SessionRecord {
  const now = Date.now();
  return { id, data, createdAt: now, updatedAt: now, expiresAt: now + HOUR, ttl: HOUR, version: 1 };
}

/** `logged: false`: a store the server keeps no change log for (changes answered by the clock). */
function server(logged = true) {
  const memory = memoryStore();
  const { server, fetch, store } = inProcessServer(
    logged ? memory : { ...memory, capabilities: {} },
  );
  closing.push(() => server.close());
  /** Records of alice's written straight into the server's store, past its API. */
  const plant = async (...records: SessionRecord[]) => {
    for (const r of records) await partitionOf(store as SessionStore, "alice").set(r);
  };
  return { fetch, plant };
}

function manager(backend: SessionStore) {
  const sm = new SessionManager<unknown>({ backend, warnBefore: 0 });
  const errors: Error[] = [];
  sm.on("error", (error) => errors.push(error));
  closing.push(() => sm.close());
  return { sm, errors };
}

function expectReported(errors: Error[]): void {
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toMatch(/nests deeper than 64 levels/);
  }
}

describe("a session from the server nested deeper than the limit", () => {
  it("the remote store lists the others and reports it", async () => {
    const { fetch, plant } = server();
    await plant(record("good"), record("deep", nested(100)));
    const { sm, errors } = manager(
      remoteStore({ url: IN_PROCESS_URL, token: await tokenFor("alice"), fetch }),
    );
    await sm.ready;
    expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
    expectReported(errors);
  });

  it("the replica's first pull (a list) takes the others and reports it", async () => {
    const { fetch, plant } = server();
    await plant(record("good"), record("deep", nested(100)));
    const local = memoryStore();
    const store = replicaStore(local, {
      url: IN_PROCESS_URL,
      token: await tokenFor("alice"),
      fetch,
    });
    const { sm, errors } = manager(store);
    await sm.ready;
    expect(await store.sync()).toBe(true);
    expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
    expect(await local.get("deep")).toBeUndefined();
    expectReported(errors);
  });

  // Planted past the API, they are in no change log: the clock's changes bring them.
  it("the replica's later pull (changes) takes the others and reports it", async () => {
    const { fetch, plant } = server(false);
    await plant(record("first"));
    const local = memoryStore();
    const store = replicaStore(local, {
      url: IN_PROCESS_URL,
      token: await tokenFor("alice"),
      fetch,
    });
    const { sm, errors } = manager(store);
    await sm.ready;
    expect(await store.sync()).toBe(true);
    await plant(record("good"), record("deep", nested(100)));
    expect(await store.sync()).toBe(true);
    expect((await sm.list()).map((s) => s.id).sort()).toEqual(["first", "good"]);
    expectReported(errors);
  });
});
