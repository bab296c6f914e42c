// The Redis store's change logs against a real server: the change-log conformance suite, then
// what only Redis has to get right (two connections as two processes, names that look like key
// syntax, the subscriber connection lost and back, the bounds, the keys a log uses).
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BackendError } from "../../src/errors.ts";
import { type RedisStoreOptions, redisStore } from "../../src/stores/redis.ts";
import { partitionOf } from "../../src/stores/shared/partition.ts";
import type {
  ChangeEntry,
  ResyncSignal,
  SessionPartition,
  SessionStore,
} from "../../src/stores/types.ts";
import { rec } from "../helpers/records.ts";
import { eventually, proxy, requireService, runId, services } from "../helpers/services.ts";
import { testChangeLog } from "./change-log.ts";

const up = await requireService("redis");
const { host, port } = services.redis;
const prefix = `smtest-${runId()}`;
const raw = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
raw.on("error", () => {});

const opened: SessionStore[] = [];
const reported: Error[] = [];
const stops: (() => void)[] = [];
let sequence = 0;

/** A store of this run (its own connection), opened; namespace `n<sequence>` unless given. */
async function open(options: RedisStoreOptions = {}): Promise<SessionStore> {
  const store = redisStore({ host, port, prefix, namespace: `n${++sequence}`, ...options });
  opened.push(store);
  await store.open?.({ report: (error) => reported.push(error) });
  return store;
}

type Logged = SessionPartition & Required<Pick<SessionPartition, "changes" | "watch">>;
/** The owner's partition of `store`, which keeps a log. */
const logOf = (store: SessionStore, owner: string) => partitionOf(store, owner) as Logged;
/** What `watch` hears on `p` until the test ends. */
function listen(p: Logged): (ChangeEntry | ResyncSignal)[] {
  const heard: (ChangeEntry | ResyncSignal)[] = [];
  stops.push(p.watch((entry) => heard.push(entry)));
  return heard;
}
const brief = (entry: ChangeEntry | ResyncSignal) =>
  "resync" in entry ? "resync" : `${entry.change} ${entry.id}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The key of an owner's log stream and of what it remembers, and the namespace's channel. */
const logKey = (namespace: string, owner: string) => `${prefix}:{${namespace}:${owner}}:l`;
const metaKey = (namespace: string, owner: string) => `${prefix}:{${namespace}:${owner}}:f`;
const channelOf = (namespace: string) => `${prefix}:{${namespace}}:c`;
/** How many connections subscribe to the namespace's channel. */
async function subscribers(namespace: string): Promise<number> {
  const [, count] = (await raw.pubsub("NUMSUB", channelOf(namespace))) as [string, number];
  return Number(count);
}
/** Waits until a write of `p` is heard (the watch is live), and forgets what was heard. */
async function live(p: Logged, heard: unknown[]): Promise<void> {
  await p.set(rec("probe"), { ifAbsent: true });
  await eventually(async () => expect(heard.length).toBeGreaterThan(0));
  await p.delete("probe");
  await eventually(async () => expect(heard.length).toBe(2));
  heard.splice(0);
}

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  expect(reported.splice(0)).toEqual([]);
});

afterAll(async () => {
  for (const store of opened) await store.close?.();
  if (up) {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await raw.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  raw.disconnect();
});

describe.skipIf(!up)("redis change log", () => {
  const create = (namespace: string, changeLog?: RedisStoreOptions["changeLog"]) =>
    redisStore({ host, port, prefix, namespace, ...(changeLog && { changeLog }) });
  testChangeLog({ name: "redis", create, twin: create });

  it("delivers another process's writes in log order, and nothing of another owner", async () => {
    const one = await open();
    const two = await open({ namespace: `n${sequence}` });
    const alice = logOf(two, "alice");
    const heard = listen(alice);
    const bob = listen(logOf(two, "bob"));
    await live(alice, heard);
    const writer = logOf(one, "alice");
    const other = logOf(one, "bob2");
    const writes: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push(writer.set(rec(`s${i}`), { ifAbsent: true }));
      writes.push(other.set(rec(`o${i}`), { ifAbsent: true }));
    }
    await Promise.all(writes);
    await eventually(async () => expect(heard).toHaveLength(50));
    const { entries } = await alice.changes({
      cursor: (heard[0] as ChangeEntry).cursor,
      limit: 100,
    });
    expect([heard[0], ...entries]).toEqual(heard);
    const cursors = heard.map((e) => (e as ChangeEntry).cursor);
    expect([...cursors].sort()).toEqual(cursors);
    expect(bob).toEqual([]);
  });

  it("keeps owners and namespaces apart whatever their names hold", async () => {
    // `a` + `b:c` and `a:b` + `c` would share a key and a channel if `:` were not escaped.
    const pairs: [string, string][] = [
      ["a", "b:c"],
      ["a:b", "c"],
      ["{a", "b}"],
      ["{a}", "b"],
      ["a", "{b}"],
      ["a%3Ab", "c"],
    ];
    const parts = await Promise.all(
      pairs.map(async ([namespace, owner]) => logOf(await open({ namespace }), owner)),
    );
    const heard = parts.map(listen);
    for (const [i, p] of parts.entries()) await live(p, heard[i] as unknown[]);
    const heads = await Promise.all(parts.map(async (p) => (await p.changes({ limit: 1 })).next));
    await Promise.all(parts.map((p, i) => p.set(rec(`s${i}`), { ifAbsent: true })));
    for (const [i, p] of parts.entries()) {
      await eventually(async () => expect(heard[i]?.map(brief)).toEqual([`added s${i}`]));
      const { entries } = await p.changes({ cursor: heads[i], limit: 10 });
      expect(entries.map(brief)).toEqual([`added s${i}`]);
    }
  });

  it("opens one subscriber connection on the first watch, and closes it after the last", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    expect(await subscribers(ns)).toBe(0);
    const a = listen(logOf(store, "a"));
    const stopB = logOf(store, "b").watch(() => {});
    await eventually(async () => expect(await subscribers(ns)).toBe(1));
    await live(logOf(store, "a"), a);
    (stops.pop() as () => void)();
    expect(await subscribers(ns)).toBe(1);
    stopB();
    await eventually(async () => expect(await subscribers(ns)).toBe(0));
    // Another watch opens it again; `close` closes it.
    const again = listen(logOf(store, "a"));
    await live(logOf(store, "a"), again);
    await store.close?.();
    await eventually(async () => expect(await subscribers(ns)).toBe(0));
  });

  it("tells listeners to resync when the subscriber connection dropped, then goes on", async () => {
    const cut = await proxy(host, port);
    const watcher = await open({ port: cut.port });
    const writer = await open({ namespace: `n${sequence}` });
    const p = logOf(watcher, "alice");
    const heard = listen(p);
    await live(p, heard);
    const before = await subscribers(`n${sequence}`);
    await cut.stop();
    // Written while the watcher is away: `changes` has it, the channel never will.
    await logOf(writer, "alice").set(rec("missed"), { ifAbsent: true });
    await cut.start();
    await eventually(async () => expect(heard).toEqual([{ resync: true }]));
    expect(await subscribers(`n${sequence}`)).toBe(before);
    await logOf(writer, "alice").set(rec("after"), { ifAbsent: true });
    await eventually(async () => expect(heard.map(brief)).toEqual(["resync", "added after"]));
  });

  it("tells listeners to resync when Redis kills the subscriber connection", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const idsBefore = await pubsubClients();
    const p = logOf(store, "alice");
    const heard = listen(p);
    await live(p, heard);
    const ours = (await pubsubClients()).filter((id) => !idsBefore.includes(id));
    expect(ours).toHaveLength(1);
    await raw.call("CLIENT", "KILL", "ID", ours[0] as string);
    await eventually(async () => expect(heard).toEqual([{ resync: true }]));
    await eventually(async () => expect(await subscribers(ns)).toBe(1));
    await p.set(rec("after"), { ifAbsent: true });
    await eventually(async () => expect(heard.map(brief)).toEqual(["resync", "added after"]));
  });

  it("watches on a client handed in, through a connection of its own", async () => {
    const client = new Redis({ host, port, lazyConnect: true });
    const store = await open({ client });
    const p = logOf(store, "alice");
    const heard = listen(p);
    await live(p, heard);
    await p.set(rec("a"), { ifAbsent: true });
    await eventually(async () => expect(heard.map(brief)).toEqual(["added a"]));
    (stops.pop() as () => void)();
    await store.close?.();
    expect(client.status).toBe("ready");
    client.disconnect();
  });

  it("appends and publishes nothing for a write whose condition fails", async () => {
    const store = await open();
    const ns = `n${sequence}`;
    const p = logOf(store, "alice");
    await p.set(rec("a"), { ifAbsent: true });
    const messages: string[] = [];
    const sub = new Redis({ host, port });
    sub.on("message", (_: string, message: string) => messages.push(message));
    await sub.subscribe(channelOf(ns));
    const length = await raw.xlen(logKey(ns, "alice"));
    expect(await p.set(rec("a"), { ifAbsent: true })).toBe(false);
    expect(await p.set(rec("a", { version: 3 }), { ifVersion: 2 })).toBe(false);
    expect(await p.delete("a", { ifVersion: 5 })).toBe(false);
    expect(await p.delete("none")).toBe(false);
    await p.set(rec("b"), { ifAbsent: true });
    await eventually(async () => expect(messages).toHaveLength(1));
    sub.disconnect();
    expect(await raw.xlen(logKey(ns, "alice"))).toBe(length + 1);
    expect(JSON.parse(messages[0] as string).slice(0, 1)).toEqual(["alice"]);
  });

  it("keeps at most maxEntries in the stream, expiring with its newest entry", async () => {
    const store = await open({ changeLog: { maxEntries: 3, maxAge: 60_000 } });
    const ns = `n${sequence}`;
    const p = logOf(store, "alice");
    const { next: head } = await p.changes({ limit: 1 });
    for (let i = 0; i < 10; i++) await p.set(rec(`s${i}`), { ifAbsent: true });
    expect(await raw.xlen(logKey(ns, "alice"))).toBe(3);
    const ttl = await raw.pttl(logKey(ns, "alice"));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await raw.pttl(metaKey(ns, "alice"))).toBeGreaterThan(86_400_000);
    expect(await p.changes({ cursor: head, limit: 10 })).toMatchObject({ resync: true });
    // The store's keys of the owner are all under one hash tag.
    const keys = await raw.keys(`${prefix}:{${ns}:alice}*`);
    expect(keys.length).toBeGreaterThan(3);
  });

  it("resumes after a log whose stream expired: a reader at its end goes on, one before resyncs", async () => {
    const store = await open({ changeLog: { maxAge: 100 } });
    const p = logOf(store, "alice");
    const { next: head } = await p.changes({ limit: 1 });
    await p.set(rec("a"), { ifAbsent: true });
    const { next: end } = await p.changes({ limit: 1 });
    await sleep(250);
    expect(await raw.exists(logKey(`n${sequence}`, "alice"))).toBe(0);
    // Idle: the reader at the end has missed nothing.
    const idle = await p.changes({ cursor: end, limit: 10 });
    expect(idle.resync).toBeUndefined();
    expect(idle.entries).toEqual([]);
    expect(idle.next > end).toBe(true);
    expect(await p.changes({ cursor: head, limit: 10 })).toMatchObject({ resync: true });
    await p.set(rec("b"), { ifAbsent: true });
    const page = await p.changes({ cursor: idle.next, limit: 10 });
    expect(page.entries.map(brief)).toEqual(["added b"]);
  });

  it("answers resync for a cursor from the future or out of range", async () => {
    const p = logOf(await open(), "alice");
    await p.set(rec("a"), { ifAbsent: true });
    const { next: head } = await p.changes({ limit: 1 });
    const future = `${String(Date.now() + 3_600_000).padStart(15, "0")}-a0`;
    const tooBig = `${head.slice(0, 15)}-t99999999999999999999`;
    for (const cursor of [future, tooBig, `${head}x`, head.replace("-a", "-b")]) {
      expect(await p.changes({ cursor, limit: 10 })).toEqual({
        entries: [],
        next: head,
        resync: true,
      });
    }
  });

  it("logs `expired` for a record Redis dropped by itself, when the sweep finds it gone", async () => {
    const store = await open({ grace: 0 });
    const p = logOf(store, "alice");
    await p.set(rec("short", { expiresAt: Date.now() + 100 }), { ifAbsent: true });
    const { next: head } = await p.changes({ limit: 1 });
    await sleep(300);
    await store.purgeExpired(Date.now());
    const { entries } = await p.changes({ cursor: head, limit: 10 });
    expect(entries.map(brief)).toEqual(["expired short"]);
  });

  it("refuses bad bounds", () => {
    for (const changeLog of [{ maxEntries: 0 }, { maxAge: -1 }, { maxEntries: 1.5 }]) {
      expect(() => redisStore({ host, port, changeLog })).toThrow(BackendError);
    }
  });
});

/** The ids of the connections that Redis sees subscribed. */
async function pubsubClients(): Promise<string[]> {
  const list = String(await raw.call("CLIENT", "LIST", "TYPE", "pubsub"));
  return list
    .split("\n")
    .map((line) => /^id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}
