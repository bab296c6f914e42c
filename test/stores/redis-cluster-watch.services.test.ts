// The Redis store's watch on a Redis Cluster when its subscriber connection goes: killed by the
// node it is on (CLIENT KILL), or that node's process killed and started again (on a cluster this
// file starts for itself). Either way every listener is told to resync once the subscription is
// back, and what is written after is heard again. (ioredis's own Cluster subscriber moves to
// another node without a word: changes published in between were lost, unseen.)
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisClusterNode } from "../../src/stores/redis/client.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type {
  ChangeEntry,
  ResyncSignal,
  SessionPartition,
  SessionStore,
} from "../../src/stores/types.ts";
import { type OwnCluster, requireCluster, startOwnCluster } from "../helpers/cluster.ts";
import { rec } from "../helpers/records.ts";
import { eventually, runId } from "../helpers/services.ts";

const found = await requireCluster();
const prefix = `smtest-${runId()}`;

type Heard = (ChangeEntry | ResyncSignal)[];

/** A store on `nodes` through a Cluster whose connections carry `name` (CLIENT LIST finds them). */
async function openStore(nodes: RedisClusterNode[], name: string) {
  const client = new Cluster([...nodes], {
    lazyConnect: true,
    redisOptions: { connectionName: name },
    clusterRetryStrategy: () => 100,
  });
  client.on("error", () => {});
  const store = redisStore({ client, prefix, namespace: `w-${name}` });
  const reported: Error[] = [];
  await store.open?.({ report: (error) => reported.push(error) });
  return { client, store, reported };
}

/** `owner`'s partition, watched: what its listener hears. */
function watch(store: SessionStore, owner: string) {
  const partition = partitionOf(store, owner);
  const heard: Heard = [];
  const stop = partition.watch?.((entry) => heard.push(entry)) ?? (() => {});
  return { partition, heard, stop };
}

const ids = (heard: Heard) => heard.map((e) => ("resync" in e ? "resync" : e.id));

/** Writes `id` and waits for the listener to hear it. */
async function hears(partition: SessionPartition, heard: Heard, id: string) {
  await partition.set(rec(id));
  await eventually(async () => expect(ids(heard)).toContain(id));
}

/**
 * Writes until the listener hears (a write racing `watch` may come before the log's head it
 * starts from): the channel is live then. What it heard is forgotten.
 */
async function live({ partition, heard }: { partition: SessionPartition; heard: Heard }) {
  await eventually(async () => {
    await partition.set(rec("probe"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids(heard)).toContain("probe");
  });
  heard.length = 0;
}

/** The node and client id of the store's subscriber (a pub/sub connection named `name`). */
async function subscriberOf(nodes: RedisClusterNode[], name: string) {
  for (const node of nodes) {
    const direct = new Redis({ ...node, lazyConnect: true });
    direct.on("error", () => {});
    try {
      const list = String(await direct.call("CLIENT", "LIST", "TYPE", "pubsub"));
      const line = list.split("\n").find((l) => l.includes(name));
      const id = /(?:^|\s)id=(\d+)/.exec(line ?? "")?.[1];
      if (id) return { node, id };
    } catch {
      // A node down: the subscriber is not there.
    } finally {
      direct.disconnect();
    }
  }
  return undefined;
}

/** An owner whose keys live on a node other than `not` (its writes go on while `not` is down). */
async function ownerAway(client: Cluster, not: RedisClusterNode, namespace: string) {
  const slots = await client.cluster("SLOTS");
  for (let i = 0; i < 500; i++) {
    const owner = `away${i}`;
    const slot = Number(await client.cluster("KEYSLOT", `${prefix}:{${namespace}:${owner}}:i`));
    const master = slots.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (master && master[1] !== not.port) return owner;
  }
  throw new Error("no owner away from the node");
}

describe.skipIf(!found)("redis cluster watch: the subscriber connection killed", () => {
  const nodes = found ?? [];
  const opened: { client: Cluster; store: SessionStore }[] = [];
  afterAll(async () => {
    for (const { store, client } of opened) {
      await store.clear();
      await store.close?.();
      client.disconnect();
    }
  });

  it("tells every listener to resync once subscribed again, then delivers again", async () => {
    const name = `smw${runId()}`;
    const opened1 = await openStore(nodes, name);
    opened.push(opened1);
    const alice = watch(opened1.store, "alice");
    const bob = watch(opened1.store, "bob");
    await live(alice);
    await live(bob);
    await hears(alice.partition, alice.heard, "a1");
    const before = await subscriberOf(nodes, name);
    expect(before).toBeDefined();
    const killer = new Redis({ ...(before?.node as RedisClusterNode) });
    expect(await killer.client("KILL", "ID", before?.id as string)).toBe(1);
    killer.disconnect();
    await eventually(async () => expect(ids(alice.heard)).toEqual(["a1", "resync"]));
    await eventually(async () => expect(ids(bob.heard)).toEqual(["resync"]));
    await hears(bob.partition, bob.heard, "b1");
    await hears(alice.partition, alice.heard, "a2");
    expect(ids(alice.heard)).toEqual(["a1", "resync", "a2"]);
    // Subscribed again through a connection of its own, named as the client's.
    expect((await subscriberOf(nodes, name))?.id).not.toBe(before?.id);
  }, 20_000);
});

describe.skipIf(!found)("redis cluster watch: the subscriber's node restarted", () => {
  let own: OwnCluster | undefined;
  let opened: { client: Cluster; store: SessionStore } | undefined;
  beforeAll(async () => {
    own = await startOwnCluster();
  }, 60_000);
  afterAll(async () => {
    await opened?.store.close?.();
    opened?.client.disconnect();
    await own?.stop();
  }, 30_000);

  it("moves to another node and tells its listeners to resync; a write after is heard", async () => {
    const nodes = own?.nodes ?? [];
    const name = `smr${runId()}`;
    opened = await openStore(nodes, name);
    const { client, store } = opened;
    const first = watch(store, "first");
    await live(first);
    await hears(first.partition, first.heard, "f1");
    const on = await subscriberOf(nodes, name);
    expect(on).toBeDefined();
    const node = on?.node as RedisClusterNode;
    const away = watch(store, await ownerAway(client, node, `w-${name}`));
    await own?.restart(node.port);
    await eventually(async () => expect(ids(first.heard)).toEqual(["f1", "resync"]));
    await eventually(async () => expect(ids(away.heard)).toEqual(["resync"]));
    // The owner's node stayed up: its write goes through at once, and is heard.
    await hears(away.partition, away.heard, "x1");
    expect(ids(away.heard)).toEqual(["resync", "x1"]);
    const now = await subscriberOf(nodes, name);
    expect(now?.id).toBeDefined();
    expect(`${now?.node.port}:${now?.id}`).not.toBe(`${node.port}:${on?.id}`);
  }, 60_000);
});
