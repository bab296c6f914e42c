// The Redis store on a Redis Cluster of three masters (scripts/redis-cluster.sh start): the
// conformance suite through `redisStore({ cluster })` with a twin on a Cluster connection of its
// own; every script the store runs touching the keys of one slot (seen through MONITOR on every
// node, with the commands the scripts ran); owners spread over the nodes; the ways to name the
// nodes; a Cluster handed in; close; and a server on the cluster. Keys of one run share a
// prefix, deleted at the end.
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { SessionManager } from "../../src/index.ts";
import { main } from "../../src/server/cli.ts";
import { closeClient, clusterNodes } from "../../src/stores/redis/client.ts";
import { ClusterSubscriber } from "../../src/stores/redis/cluster-subscriber.ts";
import { openSubscriber } from "../../src/stores/redis/watch.ts";
import { type RedisClient, type RedisStoreOptions, redisStore } from "../../src/stores/redis.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type { ChangeLogOptions, SessionStore } from "../../src/stores/types.ts";
import { requireCluster } from "../helpers/cluster.ts";
import { rec } from "../helpers/records.ts";
import { SECRET, client as serverClient, setup, token } from "../helpers/server.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server-process.ts";
import { eventually, freePort, runId, timed } from "../helpers/services.ts";
import { names, openStream, type SseReader } from "../helpers/sse.ts";
import { testChangeLog } from "./change-log.ts";
import { testStore } from "./conformance.ts";

const found = await requireCluster();
const nodes = found ?? [];
const prefix = `smtest-${runId()}`;
/** The namespace of the `serve` command's test, under the default prefix. */
const cliNamespace = `cli-${runId()}`;
/** The cluster as a test reads it: keys, slots, connections. */
const raw = new Cluster([...nodes], { lazyConnect: true });
raw.on("error", () => {});
// A Cluster is assignable to what the store calls on a client handed in.
const handedIn: RedisClient = raw;

const reported: Error[] = [];
const opened: SessionStore[] = [];
let sequence = 0;
async function open(options: RedisStoreOptions = {}): Promise<SessionStore> {
  const store = redisStore({ cluster: nodes, prefix, namespace: `n${++sequence}`, ...options });
  opened.push(store);
  await store.open?.({ report: (error) => reported.push(error) });
  return store;
}

afterAll(async () => {
  for (const store of opened) await store.close?.();
  if (found) {
    // Connected by now unless no test here ran (a filtered run).
    if (raw.status === "wait") await raw.connect();
    for (const node of raw.nodes("master")) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "COUNT", 1000);
        const ours = keys.filter(
          (key) => key.startsWith(prefix) || key.startsWith(`sessionmanager:{${cliNamespace}`),
        );
        for (const key of ours) await node.unlink(key);
        cursor = next;
      } while (cursor !== "0");
    }
  }
  raw.disconnect();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plain connection to each master (MONITOR, CLIENT LIST, CLUSTER KEYSLOT). */
const masters = () => nodes.map(({ host, port }) => ({ host, port, name: `${host}:${port}` }));

/** One `EVAL`/`EVALSHA` a node ran: its declared keys, and the commands the script ran. */
interface ScriptRun {
  node: string;
  keys: string[];
  calls: string[][];
}

/**
 * Runs `action` and resolves to every script of this run (a key under its prefix) that the
 * masters ran meanwhile, through MONITOR, which shows each script's own commands (`lua`) right
 * after it: a script runs whole, so nothing comes between on its node.
 */
async function scriptsRun(action: () => Promise<unknown>): Promise<ScriptRun[]> {
  const runs: ScriptRun[] = [];
  const monitors = await Promise.all(
    masters().map(async ({ host, port, name }) => {
      const monitor = await new Redis({ host, port }).monitor();
      let current: ScriptRun | undefined;
      monitor.on("monitor", (_time: string, args: string[], source: string) => {
        const command = String(args[0]).toLowerCase();
        if (source === "lua") current?.calls.push(args);
        else if (command === "eval" || command === "evalsha") {
          const count = Number(args[2]);
          current = { node: name, keys: args.slice(3, 3 + count), calls: [] };
          runs.push(current);
        } else current = undefined;
      });
      return monitor;
    }),
  );
  await sleep(100);
  await action();
  await sleep(300);
  for (const monitor of monitors) monitor.disconnect();
  const ours = (run: ScriptRun) =>
    run.keys.some((key) => key.startsWith(prefix)) ||
    run.calls.some((call) => call.some((arg) => arg.startsWith(prefix)));
  return runs.filter(ours);
}

/** The keys `call` names, as Redis sees them (`COMMAND GETKEYS`); none for `TIME` and such. */
async function keysOf(inspect: Redis, call: string[]): Promise<string[]> {
  try {
    return (await inspect.call("COMMAND", "GETKEYS", ...call)) as string[];
  } catch {
    return [];
  }
}

/** Whether the Redis store keeps a change log yet (`partition(owner).changes`). */
const logged = typeof redisStore().partition?.("x").changes === "function";

/**
 * The runs among `runs` whose keys (declared, and those their commands touched) hash to more than
 * one slot, described; and the commands the scripts ran.
 */
async function slotsOf(runs: ScriptRun[]): Promise<{ mixed: string[]; commands: Set<string> }> {
  const [first] = masters();
  const inspect = new Redis(first?.port ?? 0, first?.host ?? "");
  const mixed: string[] = [];
  const commands = new Set<string>();
  for (const run of runs) {
    const touched = [...run.keys];
    for (const call of run.calls) {
      commands.add(String(call[0]).toUpperCase());
      touched.push(...(await keysOf(inspect, call)));
    }
    const slots = new Set(await Promise.all(touched.map((key) => inspect.cluster("KEYSLOT", key))));
    if (slots.size > 1) mixed.push(`${run.node} keys ${run.keys} ran ${JSON.stringify(run.calls)}`);
  }
  inspect.disconnect();
  return { mixed, commands };
}

describe.skipIf(!found)("redis cluster", () => {
  // Each store of the suite, and its twin, on a Cluster connection of its own.
  const create = (namespace: string) => redisStore({ cluster: nodes, prefix, namespace });
  testStore({ name: "redis cluster", create, twin: create });
  if (logged) {
    const make = (namespace: string, log?: ChangeLogOptions) =>
      redisStore({ cluster: nodes, prefix, namespace, ...(log ? { changeLog: log } : {}) });
    testChangeLog({ name: "redis cluster", create: make, twin: make });
  }

  it("runs every script on the keys of one slot, the keys its commands touch included", async () => {
    const store = await open({ grace: 0 });
    const twin = await open({ namespace: `n${sequence}`, grace: 0 });
    const now = Date.now();
    const runs = await scriptsRun(async () => {
      for (const [i, s] of [
        store,
        partitionOf(store, "alice"),
        partitionOf(twin, "b:o{b}"),
      ].entries()) {
        await s.set(rec(`x${i}`));
        await s.set(rec(`y${i}`), { ifAbsent: true });
        await s.set(rec(`y${i}`, { version: 2 }), { ifVersion: 1 });
        await s.delete(`x${i}`, { ifVersion: 1 });
        // Already gone in Redis (PXAT in the past, no grace) but in the index: PRUNE drops it.
        await s.set(rec(`gone${i}`, { expiresAt: now - 1000 }));
        await s.get(`y${i}`);
        await s.list?.({ limit: 10 });
        // The change log's read (CHANGES), where the store keeps one.
        if ("changes" in s) await s.changes?.({ limit: 10 });
      }
      await store.list();
      await store.purgeExpired(now);
      await partitionOf(store, "alice").clear();
      await store.clear();
    });
    const { mixed, commands } = await slotsOf(runs);
    expect(mixed).toEqual([]);
    // Every script of the store ran: SET, DELETE, PRUNE, SWEEP, REGISTER, SETTLE.
    expect(runs.length).toBeGreaterThan(20);
    for (const command of [
      "SET",
      "ZADD",
      "UNLINK",
      "ZREM",
      "EXISTS",
      "ZRANGEBYSCORE",
      "HSET",
      "HGET",
    ]) {
      expect(commands).toContain(command);
    }
    // And those of the change log: appended and published by the writes, read by `changes`.
    if (logged)
      for (const command of ["XADD", "PUBLISH", "XRANGE"]) expect(commands).toContain(command);
    expect(new Set(runs.map((run) => run.node)).size).toBeGreaterThan(1);
  });

  // Redis 7.0 refuses a script whose keys live on another node, not one that mixes two slots of
  // its own node (which breaks once a slot moves): the check above sees that too.
  it("sees a script that mixes two slots of one node, which Redis itself runs", async () => {
    const node = masters()[0] as { host: string; port: number };
    const direct = new Redis(node);
    // Two tags whose slots this node serves.
    const owned = await direct.cluster("SLOTS");
    const local: string[] = [];
    for (let i = 0; local.length < 2 && i < 500; i++) {
      const key = `${prefix}:{m${i}}:k`;
      const slot = Number(await direct.cluster("KEYSLOT", key));
      const at = owned.find(([from, to]) => slot >= from && slot <= to)?.[2];
      if (at?.[1] === node.port) local.push(key);
    }
    const [first = "", second = ""] = local;
    const runs = await scriptsRun(() =>
      direct.eval(
        "redis.call('SET', KEYS[1], 1) return redis.call('GET', ARGV[1])",
        1,
        first,
        second,
      ),
    );
    expect(runs).toHaveLength(1);
    expect((await slotsOf(runs)).mixed).toHaveLength(1);
    await direct.unlink(first);
    direct.disconnect();
  });

  it("spreads owners over the nodes, and each owner's records work wherever they land", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const twin = await open({ namespace: ns });
    await raw.connect().catch(() => {});
    // Owners until every master holds one's index.
    const byNode = new Map<string, string>();
    const node = await raw.cluster("SLOTS");
    for (let i = 0; byNode.size < 3 && i < 200; i++) {
      const owner = `owner:${i}`;
      const index = `${prefix}:{${ns}:${owner.replace(":", "%3A")}}:i`;
      const slot = Number(await raw.cluster("KEYSLOT", index));
      const master = node.find(([from, to]) => slot >= from && slot <= to)?.[2];
      const name = `${master?.[0]}:${master?.[1]}`;
      if (!byNode.has(name)) byNode.set(name, owner);
    }
    expect(byNode.size).toBe(3);
    const owners = [...byNode.values()];
    const now = Date.now();
    for (const [i, owner] of owners.entries()) {
      const mine = partitionOf(store, owner);
      await mine.set(rec(`s${i}`, { data: owner }));
      await mine.set(rec("due", { expiresAt: now - 10 }));
      expect(await partitionOf(twin, owner).set(rec(`s${i}`), { ifAbsent: true })).toBe(false);
      expect(await raw.exists(`${prefix}:{${ns}:${owner.replace(":", "%3A")}}:s:s${i}`)).toBe(1);
    }
    for (const [i, owner] of owners.entries()) {
      const theirs = partitionOf(twin, owner);
      expect((await theirs.get(`s${i}`))?.data).toBe(owner);
      expect((await theirs.list({ limit: 10 })).records.map((r) => r.id).sort()).toEqual([
        "due",
        `s${i}`,
      ]);
      expect(await theirs.count?.({ now })).toBe(1);
    }
    // The root reaches every owner, wherever its keys live.
    const purged = (await twin.purgeExpired(now)).map((r) => r.id).sort();
    // Partition ids in the root's answers: the owner URI-encoded, "/", the id.
    expect(purged).toEqual(owners.map((owner) => `${encodeURIComponent(owner)}/due`).sort());
    await store.clear();
    for (const owner of owners) {
      expect((await partitionOf(twin, owner).list({ limit: 10 })).records).toEqual([]);
    }
  });

  it("takes the nodes as one string of redis:// URLs, and a few nodes are enough", async () => {
    const cluster = nodes.map(({ host, port }) => `redis://${host}:${port}`).join(", ");
    const store = await open({ cluster });
    const namespace = `n${sequence}`;
    await store.set(rec("a"));
    const one = await open({ cluster: nodes.slice(0, 1), namespace });
    expect((await one.get("a"))?.id).toBe("a");
    expect(await raw.exists(`${prefix}:{${namespace}}:s:a`)).toBe(1);
  });

  it("serves two SessionManagers named backend redis with cluster, which see each other's sessions", async () => {
    const namespace = `n${++sequence}`;
    const make = () => new SessionManager({ backend: "redis", cluster: nodes, prefix, namespace });
    const a = make();
    const b = make();
    const added = await a.add("u1", { data: { user: "ada" }, ttl: "10m" });
    expect(await b.get("u1")).toEqual(added);
    expect((await b.touch("u1", "20m")).version).toBe(2);
    expect(await raw.exists(`${prefix}:{${namespace}}:s:u1`)).toBe(1);
    expect(await a.remove("u1")).toBe(true);
    expect(await b.has("u1")).toBe(false);
    await a.close();
    await b.close();
  });

  it("refuses cluster nodes it cannot use, and cluster beside url, with BackendError", async () => {
    for (const cluster of ["", " , ", "127.0.0.1", "http://127.0.0.1:7000", "127.0.0.1:0"]) {
      const store = redisStore({ cluster, prefix });
      await expect(store.open?.({ report: () => {} })).rejects.toBeInstanceOf(BackendError);
    }
    const both = redisStore({ cluster: nodes, url: "redis://127.0.0.1:6379", prefix });
    await expect(both.open?.({ report: () => {} })).rejects.toThrow(/either cluster or url/);
    const empty = redisStore({ cluster: [], prefix });
    await expect(empty.open?.({ report: () => {} })).rejects.toBeInstanceOf(BackendError);
  });

  it("rejects within a bounded time when no node answers", async () => {
    const store = redisStore({
      cluster: [{ host: "127.0.0.1", port: await freePort() }],
      timeout: 500,
    });
    const { ms, error } = await timed(
      (async () => {
        await store.open?.({ report: () => {} });
        await store.get("a");
      })(),
    );
    await store.close?.();
    expect(error).toBeDefined();
    expect(ms).toBeLessThan(5000);
  });

  it("shares a Cluster it is given and leaves it connected", async () => {
    const shared = new Cluster([...nodes], { lazyConnect: true });
    const store = await open({ client: shared });
    await store.set(rec("a"));
    await store.close?.();
    expect(shared.status).toBe("ready");
    expect(await shared.exists(`${prefix}:{n${sequence}}:s:a`)).toBe(1);
    shared.disconnect();
    expect(handedIn).toBe(raw);
  });

  it("closes the Cluster it made: every node's connection goes", async () => {
    const clients = async () => {
      let count = 0;
      for (const { host, port } of masters()) {
        const node = new Redis({ host, port });
        const list = String(await node.client("LIST"));
        count += list.split("\n").filter((line) => line.includes("cmd=")).length - 1;
        node.disconnect();
      }
      return count;
    };
    const before = await clients();
    const store = redisStore({ cluster: nodes, prefix, namespace: `n${++sequence}` });
    await store.open?.({ report: () => {} });
    await store.set(rec("a"));
    expect(await clients()).toBeGreaterThan(before);
    await store.clear();
    await store.close?.();
    await eventually(async () => expect(await clients()).toBe(before));
  });

  it("serves two owners from a server on the cluster, and a second server sees the same", async () => {
    const namespace = `n${++sequence}`;
    const options = { backend: "redis", cluster: nodes, prefix, namespace } as const;
    const { alice, bob } = setup(options);
    const other = setup(options).server;
    const put = await alice.put("/v1/sessions/a1", { data: { n: 1 } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect((await bob.put("/v1/sessions/b1", { data: { n: 2 } })).status).toBe(201);
    expect((await alice.get("/v1/sessions/a1")).body.session.data).toEqual({ n: 1 });
    expect((await alice.get("/v1/sessions/b1")).status).toBe(404);
    const aliceThere = serverClient(other, "alice");
    const bobThere = serverClient(other, "bob");
    expect((await aliceThere.get("/v1/sessions/a1")).body.session.data).toEqual({ n: 1 });
    expect((await bobThere.get("/v1/sessions/b1")).body.session.data).toEqual({ n: 2 });
    const changes = (await aliceThere.get("/v1/changes")).body;
    expect(changes.changed.map((s: { id: string }) => s.id)).toEqual(["a1"]);
    const bobs = (await bobThere.get("/v1/changes")).body;
    expect(bobs.changed.map((s: { id: string }) => s.id)).toEqual(["b1"]);
    expect((await bob.delete("/v1/sessions/b1")).status).toBe(200);
    expect((await bobThere.get("/v1/sessions/b1")).status).toBe(404);
    expect((await aliceThere.get("/v1/sessions/a1")).status).toBe(200);
    expect(await raw.exists(`${prefix}:{${namespace}:alice}:s:a1`)).toBe(1);
  });

  it("subscribes on one node at a time, and hears PUBLISH sent to any node", async () => {
    // The store's watch subscribes on such a connection (openSubscriber): not the Cluster's own
    // subscriber, which changes nodes without a word (redis-cluster-watch.services.test.ts).
    await raw.connect().catch(() => {});
    const sub = openSubscriber(raw);
    expect(sub).toBeInstanceOf(ClusterSubscriber);
    const heard: string[] = [];
    sub.on("message", (_channel: string, message: string) => heard.push(message));
    const ready = new Promise<void>((resolve) => sub.on("ready", resolve));
    await sub.connect();
    await ready;
    await sub.subscribe(`${prefix}:{n}:c`);
    for (const { host, port, name } of masters()) {
      const node = new Redis({ host, port });
      await node.publish(`${prefix}:{n}:c`, name);
      node.disconnect();
    }
    await eventually(async () =>
      expect(heard.sort()).toEqual(
        masters()
          .map((m) => m.name)
          .sort(),
      ),
    );
    sub.disconnect();
  });

  // Sharded pub/sub (Redis 7: SSUBSCRIBE/SPUBLISH, a channel lives on its slot's node) works on
  // the pinned ioredis once the Cluster is made with `shardedSubscribers: true` (one subscriber
  // connection per master), SPUBLISH from a script included, the channel in the script's slot.
  it("delivers sharded pub/sub on every master (ioredis shardedSubscribers)", async () => {
    const sub = new Cluster([...nodes], { lazyConnect: true, shardedSubscribers: true });
    sub.on("error", () => {});
    const heard: string[] = [];
    sub.on("smessage", (channel: string, message: string) => heard.push(`${channel} ${message}`));
    await sub.connect();
    await raw.connect().catch(() => {});
    // One channel on each master.
    const byNode = new Map<string, string>();
    const slots = await raw.cluster("SLOTS");
    for (let i = 0; byNode.size < 3 && i < 200; i++) {
      const channel = `${prefix}:{c${i}}:log`;
      const slot = Number(await raw.cluster("KEYSLOT", channel));
      const master = slots.find(([from, to]) => slot >= from && slot <= to)?.[2];
      byNode.set(`${master?.[0]}:${master?.[1]}`, channel);
    }
    const channels = [...byNode.values()];
    expect(channels).toHaveLength(3);
    for (const channel of channels) await sub.ssubscribe(channel);
    for (const channel of channels) {
      await raw.spublish(channel, "direct");
      await raw.eval("return redis.call('SPUBLISH', KEYS[1], ARGV[1])", 1, channel, "script");
    }
    const expected = channels.flatMap((c) => [`${c} direct`, `${c} script`]);
    await eventually(async () => expect(heard.sort()).toEqual(expected.sort()));
    sub.disconnect();
  });
});

describe("cluster nodes (the option, read without a cluster)", () => {
  it("reads a list of URLs or host:port, the credentials and TLS of the first for every node", () => {
    expect(
      clusterNodes("redis://:p%40ss@10.0.0.1:7000, 10.0.0.2:7001,rediss://[::1]:7002"),
    ).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      auth: { password: "p@ss" },
    });
    expect(clusterNodes("rediss://app:secret@h:7000").auth).toEqual({
      username: "app",
      password: "secret",
      tls: {},
    });
    const list = [{ host: "h", port: 1 }];
    expect(clusterNodes(list)).toEqual({ nodes: list, auth: {} });
  });

  it("closes a client whose QUIT fails (a Cluster with a node down) by dropping its connections", async () => {
    const disconnect = vi.fn();
    const quit = vi.fn(() => Promise.reject(new Error("Connection is closed.")));
    await closeClient({ status: "ready", quit, disconnect });
    expect(quit).toHaveBeenCalledOnce();
    expect(disconnect).toHaveBeenCalledOnce();
    const waiting = { status: "wait", quit: vi.fn(async () => "OK"), disconnect: vi.fn() };
    await closeClient(waiting);
    expect(waiting.quit).not.toHaveBeenCalled();
    expect(waiting.disconnect).toHaveBeenCalledOnce();
  });

  it("refuses an entry without a host and a port, and no nodes, with BackendError", () => {
    for (const bad of [
      "",
      ",",
      "h",
      "h:0",
      "h:70000",
      "http://h:1",
      "h:x",
      [{ host: "", port: 1 }],
    ]) {
      expect(() => clusterNodes(bad)).toThrow(BackendError);
    }
  });
});

/** A request to a server process as `sub`: status and JSON answer. */
async function request(url: string, sub: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await token(sub)}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

// Realtime on the cluster: the writes of one process reach the streams of another through the
// store's channel (PUBLISH from the owner's node, which Redis Cluster sends to every node).
describe.skipIf(!found || !logged)("realtime across two server processes on redis cluster", () => {
  let one: ServerProcess;
  let two: ServerProcess;
  const readers: SseReader[] = [];
  const namespace = `rt-${runId()}`;
  beforeAll(async () => {
    const options = {
      backend: "redis",
      cluster: nodes.map(({ host, port }) => `redis://${host}:${port}`).join(","),
      prefix,
      namespace,
      auth: { secret: SECRET },
      sweepInterval: "200ms",
    };
    [one, two] = await Promise.all([startServerProcess(options), startServerProcess(options)]);
  }, 30_000);
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((reader) => reader.close()));
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
  });
  const events = async (url: string, sub: string, lastEventId?: string) => {
    const reader = await openStream(url, await token(sub), lastEventId);
    readers.push(reader);
    return reader;
  };

  it("a change through one process reaches a stream on the other, in order, and no other owner", async () => {
    const alice = await events(two.url, "alice");
    const bob = await events(two.url, "bob");
    expect((await request(one.url, "alice", "PUT", "/v1/sessions/s1", { data: 1 })).status).toBe(
      201,
    );
    expect((await request(one.url, "alice", "POST", "/v1/sessions/s1/touch", {})).status).toBe(200);
    expect((await request(one.url, "alice", "DELETE", "/v1/sessions/s1")).status).toBe(200);
    const expected = ["ready", "added", "touched", "removed"];
    const heard = await alice.until((e) => e.length >= expected.length);
    expect(names(heard)).toEqual(expected);
    expect(JSON.parse(heard[1]?.data ?? "{}")).toMatchObject({ id: "s1", data: 1 });
    // Resumed on the first process after the first event: what followed.
    const again = await events(one.url, "alice", heard[1]?.id);
    expect(names(again.events)).toEqual(["touched", "removed", "ready"]);
    expect(names(bob.events)).toEqual(["ready"]);
  });

  it("GET /v1/changes on one process reads what the other wrote, and streams `expired`", async () => {
    const first = await request(two.url, "dave", "GET", "/v1/changes?since=0");
    expect(typeof first.body.log).toBe("string");
    const stream = await events(two.url, "dave");
    await request(one.url, "dave", "PUT", "/v1/sessions/x", { data: 1 });
    await request(one.url, "dave", "PUT", "/v1/sessions/short", { data: 1, ttl: 300 });
    const since = encodeURIComponent(first.body.log);
    const next = await request(two.url, "dave", "GET", `/v1/changes?since=${since}`);
    expect(next.body.changed.map((s: { id: string }) => s.id).sort()).toEqual(["short", "x"]);
    expect(await raw.exists(`${prefix}:{${namespace}:dave}:s:x`)).toBe(1);
    const heard = await stream.until((e) => e.some((m) => m.event === "expired"), 10_000);
    expect(JSON.parse(heard.find((m) => m.event === "expired")?.data ?? "{}")).toEqual({
      id: "short",
    });
  });
});

describe.skipIf(!found)("sessionmanager serve --backend redis --cluster", () => {
  it("serves from the cluster the flag names", async () => {
    const namespace = cliNamespace;
    const stop = new AbortController();
    let out = "";
    const io = {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (out += text) },
      env: { SESSIONMANAGER_SECRET: SECRET },
      signal: stop.signal,
    };
    const cluster = nodes.map(({ host, port }) => `${host}:${port}`).join(",");
    const args = ["serve", "--backend", "redis", "--cluster", cluster, "--port", "0"];
    const done = main([...args, "--namespace", namespace, "--log-level", "silent"], io);
    const url = await eventually(async () => {
      const found = /listening on (\S+)/.exec(out)?.[1];
      if (!found) throw new Error(`not listening yet: ${out}`);
      return found;
    });
    expect((await request(url, "alice", "PUT", "/v1/sessions/a", { data: 1 })).status).toBe(201);
    expect(await raw.exists(`sessionmanager:{${namespace}:alice}:s:a`)).toBe(1);
    stop.abort();
    expect(await done).toBe(0);
  });
});
