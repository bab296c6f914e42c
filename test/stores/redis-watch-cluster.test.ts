// The watch's subscriber on a Redis Cluster (ClusterSubscriber) on fake nodes, so that the orders
// a real cluster makes only now and then can be forced: a node's connection gone and the next
// one up, a node that refuses, a connection that went still talking, the end for good.
import { describe, expect, it } from "vitest";
import { ClusterSubscriber } from "../../src/stores/redis/cluster-subscriber.ts";

/** A connection to one node, whose events the test fires. */
class FakeConnection {
  status = "wait";
  readonly handlers = new Map<string, ((...args: never[]) => void)[]>();
  readonly subscribed: string[] = [];
  disconnected = false;
  constructor(
    readonly node: string,
    readonly options: object,
  ) {}
  connect = async () => {
    this.status = "connecting";
  };
  subscribe = async (channel: string) => {
    this.subscribed.push(channel);
    return 1;
  };
  ping = async () => "PONG";
  on(event: string, listener: (...args: never[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), listener]);
    return this;
  }
  disconnect = () => {
    this.disconnected = true;
    this.fire("end");
  };
  fire(event: string, ...args: string[]) {
    if (event === "ready") this.status = "ready";
    if (event === "end") this.status = "end";
    for (const handler of this.handlers.get(event) ?? []) {
      (handler as (...args: string[]) => void)(...args);
    }
  }
}

function setUp(ports: number[]) {
  const connections: FakeConnection[] = [];
  const cluster = {
    nodes: () =>
      ports.map((port) => ({
        options: { host: "127.0.0.1", port },
        duplicate: (options: object) => {
          const connection = new FakeConnection(`127.0.0.1:${port}`, options);
          connections.push(connection);
          return connection;
        },
      })),
  };
  const delays: number[] = [];
  const sub = new ClusterSubscriber(cluster, (attempts) => {
    delays.push(attempts);
    return 0;
  });
  const events: string[] = [];
  sub.on("ready", () => events.push("ready"));
  sub.on("close", () => events.push("close"));
  sub.on("message", (channel: string, message: string) => events.push(`${channel} ${message}`));
  const last = () => connections.at(-1) as FakeConnection;
  return { sub, connections, events, delays, last };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("redis ClusterSubscriber", () => {
  it("connects to one node, says ready and close, and goes on to the next node", async () => {
    const { sub, connections, events, delays, last } = setUp([7103, 7101, 7102]);
    await sub.connect();
    const first = last();
    // Its own: no reconnection, no queue, no subscription restored behind the watch's back.
    expect(first.options).toMatchObject({
      retryStrategy: null,
      autoResubscribe: false,
      enableOfflineQueue: false,
    });
    await expect(sub.subscribe("c")).rejects.toThrow(/no node connected/);
    first.fire("ready");
    await sub.subscribe("c");
    expect(first.subscribed).toEqual(["c"]);
    first.fire("message", "c", "m1");
    first.fire("end");
    await tick();
    const second = last();
    expect(connections).toHaveLength(2);
    // The next node in host:port order after the one that went, round.
    const order = ["127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"];
    expect(second.node).toBe(order[(order.indexOf(first.node) + 1) % 3]);
    // The one that went says nothing more.
    first.fire("message", "c", "stale");
    second.fire("ready");
    second.fire("message", "c", "m2");
    expect(events).toEqual(["ready", "c m1", "close", "ready", "c m2"]);
    expect(delays).toEqual([1]);
  });

  it("tries the next node while one refuses, later each time, and starts over once up", async () => {
    const { sub, connections, delays, last } = setUp([7101, 7102]);
    await sub.connect();
    last().fire("end");
    await tick();
    last().fire("end");
    await tick();
    last().fire("ready");
    last().fire("end");
    await tick();
    expect(connections).toHaveLength(4);
    expect(delays).toEqual([1, 2, 1]);
    expect(connections[1]?.node).not.toBe(connections[0]?.node);
    expect(connections[2]?.node).toBe(connections[0]?.node);
  });

  it("moves to the next node on disconnect(true), and stops for good on disconnect()", async () => {
    const { sub, connections, events, last } = setUp([7101, 7102, 7103]);
    await sub.connect();
    last().fire("ready");
    sub.disconnect(true);
    await tick();
    expect(connections).toHaveLength(2);
    expect(connections[0]?.disconnected).toBe(true);
    last().fire("ready");
    sub.disconnect();
    await tick();
    expect(connections).toHaveLength(2);
    expect(events).toEqual(["ready", "close", "ready", "close"]);
  });

  it("waits for the cluster client to know a node", async () => {
    let ports: number[] = [];
    const connections: FakeConnection[] = [];
    const sub = new ClusterSubscriber(
      {
        nodes: () =>
          ports.map((port) => ({
            options: { host: "h", port },
            duplicate: (options: object) => {
              const connection = new FakeConnection(`h:${port}`, options);
              connections.push(connection);
              return connection;
            },
          })),
      },
      () => 0,
    );
    await sub.connect();
    await tick();
    expect(connections).toHaveLength(0);
    ports = [7101];
    await tick();
    await tick();
    expect(connections.map((c) => c.node)).toEqual(["h:7101"]);
    sub.disconnect();
  });
});
