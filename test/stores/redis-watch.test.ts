// The Redis store's watch (LogWatch) on a fake subscriber connection and a fake log, so that the
// orders a real server makes only now and then can be forced: the channel live after writes, an
// entry heard both by the catch-up and by the channel, the connection lost and back, a message
// heard between the loss and the resync, a connection gone silent.
import { describe, expect, it } from "vitest";
import { cursorOf } from "../../src/stores/redis/log.ts";
import { LogWatch, type Subscriber } from "../../src/stores/redis/watch.ts";
import type {
  ChangeEntry,
  ChangePage,
  ChangesRequest,
  ResyncSignal,
} from "../../src/stores/types.ts";

/** A log of one namespace: entries per owner, ids `1000-<n>`. */
class FakeLog {
  readonly owners = new Map<string, ChangeEntry[]>();
  private seq = 0;
  reads = 0;
  append(owner: string, id: string): ChangeEntry {
    const entry: ChangeEntry = {
      cursor: cursorOf(`1000-${++this.seq}`),
      change: "added",
      id,
      at: 1000,
    };
    const list = this.owners.get(owner) ?? [];
    list.push(entry);
    this.owners.set(owner, list);
    return entry;
  }
  changes(owner: string, request: ChangesRequest): ChangePage {
    this.reads++;
    const list = this.owners.get(owner) ?? [];
    const head = list.at(-1)?.cursor ?? cursorOf("999-0");
    if (request.cursor === undefined) return { entries: [], next: head };
    const after = list.filter((e) => e.cursor > (request.cursor as string));
    const entries = after.slice(0, request.limit);
    const next = entries.at(-1)?.cursor ?? (request.cursor as string);
    return after.length > request.limit ? { entries, next, more: true } : { entries, next };
  }
}

/** A subscriber whose events the test fires. */
class FakeSubscriber implements Subscriber {
  private readonly handlers = new Map<string, ((...args: never[]) => void)[]>();
  subscribed: string[] = [];
  disconnected = 0;
  reconnects = 0;
  connect = async () => {};
  subscribe = async (channel: string): Promise<unknown> => {
    this.subscribed.push(channel);
    return 1;
  };
  ping = async (): Promise<unknown> => "PONG";
  on(event: string, listener: (...args: never[]) => void): unknown {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), listener]);
    return this;
  }
  disconnect = (reconnect?: boolean) => {
    if (reconnect) this.reconnects++;
    else this.disconnected++;
  };
  fire(event: string, ...args: string[]): void {
    for (const handler of this.handlers.get(event) ?? [])
      (handler as (...a: string[]) => void)(...args);
  }
  /** A message on the channel carrying `entry` of `owner`, as the scripts publish it. */
  deliver(owner: string, entry: ChangeEntry): void {
    const id = entry.cursor.replace(/^0+/, "").replace(/-[a-t]/, "-");
    this.fire("message", "c", JSON.stringify([owner, id, entry.change, entry.id, false]));
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const settle = async () => {
  for (let i = 0; i < 10; i++) await tick();
};

function setUp(heartbeat?: number) {
  const log = new FakeLog();
  const subs: FakeSubscriber[] = [];
  const reported: Error[] = [];
  const watch = new LogWatch({
    channel: "c",
    open: async () => {
      const sub = new FakeSubscriber();
      subs.push(sub);
      return sub;
    },
    changes: async (owner, request) => log.changes(owner, request),
    decode: () => undefined,
    report: (error) => reported.push(error),
    ...(heartbeat !== undefined && { heartbeat }),
  });
  const listen = (owner: string) => {
    const heard: (ChangeEntry | ResyncSignal)[] = [];
    const stop = watch.watch(owner, (entry) => heard.push(entry));
    return { heard, stop };
  };
  return { log, subs, reported, watch, listen };
}

describe("redis LogWatch", () => {
  it("delivers what was written between watch and the channel going live, once each", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    // Written before the subscription: only the catch-up can deliver it.
    const a = log.append("alice", "a");
    sub.fire("ready");
    // The channel brings b while the catch-up reads, and a + b again after it (another connection).
    const b = log.append("alice", "b");
    sub.deliver("alice", b);
    await settle();
    sub.deliver("alice", a);
    sub.deliver("alice", b);
    const c = log.append("alice", "c");
    sub.deliver("alice", c);
    expect(sub.subscribed).toEqual(["c"]);
    expect(alice.heard).toEqual([a, b, c]);
  });

  it("routes by owner, and skips owners nobody watches", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    sub.fire("ready");
    await settle();
    sub.deliver("bob", log.append("bob", "x"));
    const a = log.append("alice", "a");
    sub.deliver("alice", a);
    expect(alice.heard).toEqual([a]);
  });

  it("tells every listener to resync once the lost connection is subscribed again", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    const bob = listen("bob");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    sub.fire("ready");
    await settle();
    sub.fire("close");
    log.append("alice", "missed");
    expect(alice.heard).toEqual([]);
    sub.fire("ready");
    await settle();
    expect(alice.heard).toEqual([{ resync: true }]);
    expect(bob.heard).toEqual([{ resync: true }]);
    const after = log.append("alice", "after");
    sub.deliver("alice", after);
    expect(alice.heard).toEqual([{ resync: true }, after]);
  });

  it("closes the connection when the last watch stops, and opens another for the next", async () => {
    const { subs, listen, watch } = setUp();
    const one = listen("alice");
    const two = listen("alice");
    await settle();
    one.stop();
    expect(subs[0]?.disconnected).toBe(0);
    two.stop();
    two.stop();
    expect(subs[0]?.disconnected).toBe(1);
    listen("bob");
    await settle();
    expect(subs).toHaveLength(2);
    watch.close();
    expect(subs[1]?.disconnected).toBe(1);
  });

  it("tells a listener to resync when its catch-up finds the log moved past its head", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    await settle();
    log.changes = () => ({ entries: [], next: cursorOf("1-0"), resync: true });
    (subs[0] as FakeSubscriber).fire("ready");
    await settle();
    expect(alice.heard).toEqual([{ resync: true }]);
  });

  it("delivers nothing heard after a loss before the resync, then all after it", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    sub.fire("ready");
    await settle();
    sub.fire("close");
    // Published right after the new subscription, in the same read as its answer: heard before
    // the subscribe resolves, so before the resync.
    sub.fire("ready");
    sub.deliver("alice", log.append("alice", "early"));
    await settle();
    const after = log.append("alice", "after");
    sub.deliver("alice", after);
    expect(alice.heard).toEqual([{ resync: true }, after]);
  });

  it("drops a connection that does not answer its heartbeat; listeners resync once back", async () => {
    const { log, subs, listen, reported, watch } = setUp(20);
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    sub.fire("ready");
    await settle();
    // Answers for a while: nothing happens.
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(sub.reconnects).toBe(0);
    sub.ping = () => new Promise(() => {});
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(sub.reconnects).toBe(1);
    expect(reported.map((e) => e.message)).toEqual([
      "redis watch: no answer to PING in 20 ms, reconnecting",
    ]);
    // The client closes it and connects again.
    sub.fire("close");
    sub.fire("ready");
    await settle();
    expect(alice.heard).toEqual([{ resync: true }]);
    const after = log.append("alice", "after");
    sub.deliver("alice", after);
    expect(alice.heard).toEqual([{ resync: true }, after]);
    watch.close();
  });

  it("lets a subscribe that fails with its connection leave the next connection alone", async () => {
    const { subs, listen, reported } = setUp();
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    let fail: (error: Error) => void = () => {};
    sub.subscribe = () =>
      new Promise((_, reject) => {
        fail = reject;
      });
    sub.fire("ready");
    const first = fail;
    sub.fire("close");
    sub.subscribe = async () => 1;
    sub.fire("ready");
    await settle();
    first(new Error("Connection is closed."));
    await settle();
    expect(sub.reconnects).toBe(0);
    expect(reported).toEqual([]);
    expect(alice.heard).toEqual([]);
  });

  it("takes a subscribe answered after its connection went for nothing", async () => {
    const { log, subs, listen } = setUp();
    const alice = listen("alice");
    await settle();
    const sub = subs[0] as FakeSubscriber;
    let answer: (value: unknown) => void = () => {};
    sub.subscribe = () =>
      new Promise((resolve) => {
        answer = resolve;
      });
    sub.fire("ready");
    sub.fire("close");
    answer(1);
    await settle();
    // Not live: no catch-up read the log (only its head, at watch).
    expect(log.reads).toBe(1);
    sub.subscribe = async () => 1;
    sub.fire("ready");
    await settle();
    expect(log.reads).toBe(2);
    const a = log.append("alice", "a");
    sub.deliver("alice", a);
    expect(alice.heard).toEqual([a]);
  });
});
