// The watch's subscriber connection on a Redis Cluster. A PUBLISH reaches every node of a
// cluster, so one connection to any node hears the whole namespace. ioredis's own Cluster
// subscriber (what `subscribe` on a `Cluster` uses) moves to another node when its node goes and
// subscribes there again without a word: what was published in between is lost, unseen by the
// watch (about half a second on a node restart). This one is a plain connection to one node at a
// time that says `close` when it goes and `ready` when the next one is up, as a single Redis
// does: the watch subscribes again and tells its listeners to resync. (It is a `Subscriber` of
// watch.ts, which does not import it here: no import cycle.)
/** A connection to one node (an ioredis `Redis`), as the subscriber uses it. */
interface NodeConnection {
  readonly status: string;
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "ready" | "end", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** A node in the cluster client's pool (an ioredis `Redis`): where it is, and how to copy it. */
interface PoolNode {
  readonly options: { readonly host?: string | undefined; readonly port?: number | undefined };
  duplicate(override: object): NodeConnection;
}

/** What the subscriber needs of a `Cluster`: the nodes it knows now. */
export interface ClusterNodes {
  nodes(role: "all"): PoolNode[];
}

type Listener = (...args: never[]) => void;

const keyOf = (node: PoolNode) => `${node.options.host}:${node.options.port}`;

/**
 * A subscriber on one node of `cluster` at a time, with the events of a single Redis's: `ready`
 * each time a node's connection is up (subscribe then), `close` each time it goes, `message`.
 * A connection that goes, or fails to open, is followed by one to the next node the cluster
 * client knows, `delay(attempts)` ms later; `disconnect(true)` moves to the next node too.
 */
export class ClusterSubscriber {
  private readonly listeners = new Map<string, Listener[]>();
  private current: NodeConnection | undefined;
  /** The node connected to last: the next attempt goes to the one after it. */
  private last: string | undefined;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  constructor(
    private readonly cluster: ClusterNodes,
    private readonly delay: (attempts: number) => number,
  ) {}

  /** Starts connecting; `ready` says when a node is subscribed to. */
  async connect(): Promise<void> {
    this.open();
  }

  subscribe(channel: string): Promise<unknown> {
    return this.live().subscribe(channel);
  }

  ping(): Promise<unknown> {
    return this.live().ping();
  }

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  /** Drops the node's connection: for good, or (`true`) to connect to the next node. */
  disconnect(reconnect = false): void {
    if (!reconnect) {
      this.ended = true;
      clearTimeout(this.timer);
    }
    // Its `end` says `close`, and connects to the next node unless ended.
    this.current?.disconnect();
  }

  /** The connection when it is up; a call otherwise rejects (the watch tries again at `ready`). */
  private live(): NodeConnection {
    const current = this.current;
    if (current?.status === "ready") return current;
    return {
      subscribe: () => Promise.reject(new Error("redis cluster: no node connected")),
      ping: () => Promise.reject(new Error("redis cluster: no node connected")),
    } as unknown as NodeConnection;
  }

  private emit(event: string, ...args: string[]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      (listener as (...args: string[]) => void)(...args);
    }
  }

  private open(): void {
    this.timer = undefined;
    if (this.ended || this.current) return;
    const node = this.next();
    if (!node) {
      this.retry();
      return;
    }
    this.last = keyOf(node);
    // No reconnection of its own (the next attempt may go to another node), nothing queued while
    // down, no subscription restored behind the watch's back.
    const connection = node.duplicate({
      lazyConnect: true,
      retryStrategy: null,
      autoResubscribe: false,
      enableOfflineQueue: false,
      readOnly: false,
      enableAutoPipelining: false,
    });
    this.current = connection;
    connection.on("error", () => {});
    connection.on("message", (channel, message) => {
      if (this.current === connection) this.emit("message", channel, message);
    });
    connection.on("ready", () => {
      if (this.current !== connection) return;
      this.attempts = 0;
      this.emit("ready");
    });
    connection.on("end", () => {
      if (this.current !== connection) return;
      this.current = undefined;
      this.emit("close");
      if (!this.ended) this.retry();
    });
    // A failed connect ends the connection: its `end` goes on to the next node.
    connection.connect().catch(() => {});
  }

  private retry(): void {
    if (this.ended) return;
    this.timer = setTimeout(() => this.open(), this.delay(++this.attempts));
    this.timer.unref?.();
  }

  /**
   * The node after the last one (in `host:port` order), so that a node that just dropped the
   * connection is tried last; the first time, any (processes spread over the nodes).
   */
  private next(): PoolNode | undefined {
    const nodes = [...this.cluster.nodes("all")].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    if (nodes.length === 0) return undefined;
    if (this.last === undefined) return nodes[Math.floor(Math.random() * nodes.length)];
    const last = this.last;
    return nodes.find((node) => keyOf(node) > last) ?? nodes[0];
  }
}
