// The sync stores run the shared store contract against a real session server: the remote store
// (in process, and two of them racing on one server), and the replica online (on a real port).
// The offline replica runs it in replica.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStore } from "../../src/stores/memory.ts";
import { remoteStore } from "../../src/sync/remote.ts";
import { replicaStore } from "../../src/sync/replica.ts";
import { rec } from "../helpers/records.ts";
import {
  IN_PROCESS_URL,
  inProcessServer,
  ListeningServer,
  tokenFor,
} from "../helpers/sync-server.ts";
import { testStore } from "../stores/conformance.ts";

const { server, fetch } = inProcessServer();
const listening = new ListeningServer();
beforeAll(() => listening.start());
afterAll(async () => {
  await server.close();
  await listening.stop();
});

// One owner (the token's `sub`) per namespace: owners never see each other's sessions. A twin is
// another remote store of the same owner on the same server: two clients of one user.
const remote = (namespace: string) =>
  remoteStore({ url: IN_PROCESS_URL, token: () => tokenFor(namespace), fetch });
testStore({ name: "remote", serverAssigned: true, create: remote, twin: remote });

// Online, a replica is its local store with every write pushed to the server as it is made.
const replica = (namespace: string) =>
  replicaStore(memoryStore(), {
    url: listening.url,
    token: () => tokenFor(namespace),
    namespace,
    live: false, // stores the suite leaves open would hold the server's close (serve.ts)
  });
testStore({ name: "replica (online)", create: replica });

describe("the online replica of the contract", () => {
  it("is online: what it is given reaches the server", async () => {
    const store = replica("reaches");
    const reported: unknown[] = [];
    await store.open?.({ report: (error) => reported.push(error) });
    await store.set(rec("a", { data: "given" }));
    expect(await store.sync()).toBe(true);
    const other = remoteStore({ url: listening.url, token: () => tokenFor("reaches") });
    expect(await other.get("a")).toMatchObject({ data: "given", version: 1 });
    expect(reported).toEqual([]);
    await store.clear();
    await store.close?.();
  });
});
