// The Redis store's watch against a real server when its subscriber connection goes: closed by
// the server (CLIENT KILL, what `CLIENT KILL TYPE pubsub` and a restart do to it), Redis away and
// back, or the network silent with the socket left open (caught by the heartbeat). Each ends in a
// resync to every listener once the subscription is back, and what is written after it is heard.
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisStore } from "../../src/stores/redis.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { ChangeEntry, ResyncSignal, SessionPartition } from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { eventually, proxy, requireService, runId, services } from "../helpers/services.ts";

const up = await requireService("redis");
const { host, port } = services.redis;
const prefix = `smtest-${runId()}`;
const raw = new Redis({ host, port, lazyConnect: true });
raw.on("error", () => {});

type Heard = (ChangeEntry | ResyncSignal)[];
const ids = (heard: Heard) => heard.map((e) => ("resync" in e ? "resync" : e.id));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (up) {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.unlink(...keys);
  }
  raw.disconnect();
});

/**
 * A store whose connections go to `at` and carry `name`, watching `owners`; writes go through a
 * twin on Redis itself (so they pass while `at` is cut).
 */
async function watched(name: string, at: number, owners: string[]) {
  const client = new Redis({ host, port: at, lazyConnect: true, connectionName: name });
  client.on("error", () => {});
  const store = redisStore({ client, prefix, namespace: name });
  const twin = redisStore({ host, port, prefix, namespace: name });
  await store.open?.({ report: () => {} });
  await twin.open?.({ report: () => {} });
  cleanups.push(
    () => store.close?.(),
    () => client.disconnect(),
    () => twin.close?.(),
  );
  const watches = owners.map((owner) => {
    const heard: Heard = [];
    partitionOf(store, owner).watch?.((entry) => heard.push(entry));
    return { writer: partitionOf(twin, owner), heard };
  });
  return { store, twin, watches };
}

type Watch = { writer: SessionPartition; heard: Heard };

/** Writes `id` and waits for the listener to hear it. */
async function hears({ writer, heard }: Watch, id: string) {
  await writer.set(rec(id));
  await eventually(async () => expect(ids(heard)).toContain(id));
}

/**
 * Writes until the listener hears (a write racing `watch` may come before the log's head it
 * starts from): the channel is live then. What it heard is forgotten.
 */
async function live({ writer, heard }: Watch) {
  await eventually(async () => {
    await writer.set(rec("probe"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids(heard)).toContain("probe");
  });
  heard.length = 0;
}

/** The client id of the pub/sub connection named `name`, if there is one. */
async function subscriberId(name: string): Promise<string | undefined> {
  const list = String(await raw.call("CLIENT", "LIST", "TYPE", "pubsub"));
  const line = list.split("\n").find((l) => l.includes(` name=${name} `));
  return /(?:^|\s)id=(\d+)/.exec(line ?? "")?.[1];
}

/**
 * A TCP proxy to Redis whose open connections can be frozen: nothing passes either way, and
 * nothing closes (a network cut that TCP does not notice). New connections pass.
 */
async function freezingProxy() {
  const pairs = new Set<{ frozen: boolean; sockets: Socket[] }>();
  const server = createServer((client) => {
    const upstream = tcpConnect({ host, port });
    const pair = { frozen: false, sockets: [client, upstream] };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      for (const socket of pair.sockets) socket.destroy();
    };
    client.on("data", (data) => pair.frozen || upstream.write(data));
    upstream.on("data", (data) => pair.frozen || client.write(data));
    for (const socket of pair.sockets) socket.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      for (const pair of pairs) pair.frozen = true;
    },
    close: () => {
      for (const pair of pairs) for (const socket of pair.sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!up)("redis watch: the subscriber connection lost", () => {
  it("killed by the server (CLIENT KILL): every listener resyncs, then hears again", async () => {
    const name = `smw-kill-${runId()}`;
    const [alice, bob] = (await watched(name, port, ["alice", "bob"])).watches;
    if (!alice || !bob) throw new Error("two watches");
    await live(alice);
    await live(bob);
    await hears(alice, "a1");
    const before = await subscriberId(name);
    expect(before).toBeDefined();
    expect(await raw.client("KILL", "ID", before as string)).toBe(1);
    await eventually(async () => expect(ids(alice.heard)).toEqual(["a1", "resync"]));
    await eventually(async () => expect(ids(bob.heard)).toEqual(["resync"]));
    await hears(alice, "a2");
    await hears(bob, "b1");
    expect(ids(alice.heard)).toEqual(["a1", "resync", "a2"]);
    expect(await subscriberId(name)).not.toBe(before);
  }, 20_000);

  it("Redis away and back (every connection cut, refused meanwhile): resync, then heard", async () => {
    const outage = await proxy(host, port);
    cleanups.push(() => outage.stop());
    const name = `smw-away-${runId()}`;
    const [alice] = (await watched(name, outage.port, ["alice"])).watches;
    if (!alice) throw new Error("a watch");
    await live(alice);
    await hears(alice, "a1");
    await outage.stop();
    // Written while the watch cannot hear: only the resync tells of it.
    await alice.writer.set(rec("missed"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await outage.start();
    await eventually(async () => expect(ids(alice.heard)).toEqual(["a1", "resync"]));
    await hears(alice, "a2");
    expect(ids(alice.heard)).toEqual(["a1", "resync", "a2"]);
  }, 20_000);

  it("silent with its socket open: the heartbeat drops it, every listener resyncs", async () => {
    const cut = await freezingProxy();
    cleanups.push(() => cut.close());
    const name = `smw-silent-${runId()}`;
    const [alice] = (await watched(name, cut.port, ["alice"])).watches;
    if (!alice) throw new Error("a watch");
    await live(alice);
    await hears(alice, "a1");
    cut.freeze();
    await alice.writer.set(rec("missed"));
    // The heartbeat (5 s by default) finds no answer within as long, and connects again.
    await eventually(async () => expect(ids(alice.heard)).toEqual(["a1", "resync"]), 15_000);
    await hears(alice, "a2");
    expect(ids(alice.heard)).toEqual(["a1", "resync", "a2"]);
  }, 30_000);
});
