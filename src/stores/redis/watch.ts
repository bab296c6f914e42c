// The Redis store's `watch`: one subscriber connection per store, on the namespace's channel,
// where the scripts that write an owner's records publish each entry they log. Messages are
// routed to the owner's listeners (`Fanout`). Any loss of the connection (closed by the server,
// a node of a cluster gone, or silent past a heartbeat) ends in a resync to every listener once
// it is subscribed again, and nothing heard in between is delivered as if nothing was missed.
import { BackendError } from "../../errors.ts";
import { Fanout, type WatchListener } from "../shared/fanout.ts";
import type { ChangeEntry, ChangePage, ChangesRequest } from "../types.ts";
import { retryStrategy } from "./client.ts";
import { type ClusterNodes, ClusterSubscriber } from "./cluster-subscriber.ts";
import { type DecodeRecord, messageOf } from "./log.ts";

/** What the store's `watch` needs of its subscriber connection: an ioredis `Redis` has it. */
export interface Subscriber {
  /** Connects (the connection is made with `lazyConnect`). */
  connect(): Promise<unknown>;
  /** Redis `SUBSCRIBE`. */
  subscribe(channel: string): Promise<unknown>;
  /** Redis `PING` (answered in subscriber mode too): the heartbeat. */
  ping(): Promise<unknown>;
  /** `message` (channel, message), `ready` (connected, again too), `close`, `error`. */
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "ready" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Closes the connection; with `true`, reconnects. */
  disconnect(reconnect?: boolean): void;
}

/**
 * A subscriber connection like `client`, not connected yet: for a `Redis`, its `duplicate` that
 * re-subscribes by itself no more (the watch does, to know when it is live again); for a
 * `Cluster`, a connection to one of its nodes at a time (`ClusterSubscriber`), not the Cluster's
 * own subscriber, which moves to another node without saying so.
 */
export function openSubscriber(client: object): Subscriber {
  const like = client as { duplicate?: (...args: unknown[]) => Subscriber; isCluster?: boolean };
  if (typeof like.duplicate !== "function") {
    throw new BackendError("the redis store's watch needs a client with duplicate() (ioredis)");
  }
  if (like.isCluster === true) {
    return new ClusterSubscriber(client as ClusterNodes, retryStrategy) as unknown as Subscriber;
  }
  return like.duplicate.call(client, {
    lazyConnect: true,
    autoResubscribe: false,
    // A subscriber sends only (P)SUBSCRIBE and PING, which should go out at once.
    enableAutoPipelining: false,
  });
}

/** Where the watch gets its connection and reads the owners' logs. */
export interface WatchSource {
  /** The namespace's channel. */
  readonly channel: string;
  /** A new subscriber connection, not connected yet. */
  open(): Promise<Subscriber>;
  /** A page of the owner's log (`SessionPartition.changes`). */
  changes(owner: string, request: ChangesRequest): Promise<ChangePage>;
  decode: DecodeRecord;
  report(error: Error): void;
  /** How often (ms) the live connection is pinged, and how long its answer may take. */
  readonly heartbeat?: number;
}

/** One subscriber connection, from its opening to its end. */
interface Link {
  sub?: Subscriber;
  /** Subscribed: every entry published from now on arrives, in order. */
  live: boolean;
  /**
   * Was live, and the connection dropped: its listeners may have missed entries, and hear
   * nothing more until they are told to resync.
   */
  lost: boolean;
  done: boolean;
  /**
   * Counts each `ready` and `close`: a subscribe (and a heartbeat) counts for the connection it
   * went out on only, not for one that came up after it, nor after its connection went.
   */
  epoch: number;
  /** The next heartbeat. */
  beat?: ReturnType<typeof setTimeout>;
}

/**
 * An owner watched before the channel was live: its log's head when `watch` was called, read on
 * the store's connection (so a write of this process after `watch` comes after it), and the
 * entries the channel brought meanwhile. Once live, the log is read from that head and the
 * entries follow, each once, in log order.
 */
interface CatchUp {
  readonly head: Promise<string | undefined>;
  readonly heard: ChangeEntry[];
  started: boolean;
}

/** Entries read at once when catching up. */
const PAGE = 100;
/** The heartbeat (ms) when the source names none: the store's default timeout. */
const HEARTBEAT = 5000;

/**
 * The watches of one store: opens its subscriber connection on the first `watch`, closes it
 * when the last stops (or `close`).
 */
export class LogWatch {
  private readonly fanout: Fanout;
  private link: Link | undefined;
  private readonly pending = new Map<string, CatchUp>();
  /**
   * The last cursor a catch-up delivered, per owner, until the channel brings an entry after
   * it: the channel may bring what the catch-up read after the catch-up is done.
   */
  private readonly caughtUp = new Map<string, string>();

  constructor(private readonly source: WatchSource) {
    this.fanout = new Fanout(source.report);
  }

  /** `SessionPartition.watch` of `owner`. */
  watch(owner: string, listener: WatchListener): () => void {
    const stop = this.fanout.watch(owner, listener);
    const link = this.link ?? this.connect();
    if (!link.live && !this.pending.has(owner)) {
      const head = this.source.changes(owner, { limit: 1 }).then(
        (page) => page.next,
        () => undefined,
      );
      this.pending.set(owner, { head, heard: [], started: false });
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      stop();
      if (this.fanout.has(owner)) return;
      this.pending.delete(owner);
      this.caughtUp.delete(owner);
      if (this.fanout.size === 0) this.close();
    };
  }

  /** Closes the subscriber connection; a later `watch` opens another. */
  close(): void {
    const link = this.link;
    this.link = undefined;
    this.pending.clear();
    this.caughtUp.clear();
    if (!link) return;
    link.done = true;
    clearTimeout(link.beat);
    link.sub?.disconnect();
  }

  private connect(): Link {
    const link: Link = { live: false, lost: false, done: false, epoch: 0 };
    this.link = link;
    this.source.open().then(
      (sub) => {
        if (link.done) return sub.disconnect();
        link.sub = sub;
        sub.on("error", () => {});
        sub.on("message", (_, message) => {
          // Heard after a loss, before the resync: the resync covers it (the listeners read the
          // log again), delivered now it would pass for nothing missed.
          if (link === this.link && !link.lost) this.heard(message);
        });
        sub.on("close", () => {
          if (link.live) link.lost = true;
          link.live = false;
          link.epoch++;
          clearTimeout(link.beat);
        });
        sub.on("ready", () => void this.subscribe(link, sub, ++link.epoch));
        // A failed connect is retried by the client itself (its retryStrategy): `ready` follows.
        sub.connect().catch(() => {});
      },
      (error: unknown) => {
        this.source.report(error instanceof Error ? error : new Error(String(error)));
        if (link === this.link) this.link = undefined;
      },
    );
    return link;
  }

  /** Subscribes on each `ready`; then tells who may have missed entries, or catches up. */
  private async subscribe(link: Link, sub: Subscriber, epoch: number) {
    const latest = () => link === this.link && !link.done && link.epoch === epoch;
    try {
      await sub.subscribe(this.source.channel);
    } catch (error) {
      // A connection that went meanwhile fails its subscribe: its next `ready` tries again.
      if (!latest()) return;
      this.source.report(error instanceof Error ? error : new Error(String(error)));
      // Reconnect: `ready` again, and another try.
      return sub.disconnect(true);
    }
    if (!latest()) return;
    link.live = true;
    this.beat(link, sub, epoch);
    if (link.lost) {
      link.lost = false;
      this.pending.clear();
      this.caughtUp.clear();
      return this.fanout.resync();
    }
    for (const [owner, catchUp] of this.pending) void this.catchUp(owner, catchUp);
  }

  /**
   * Pings the live connection every `heartbeat` ms: one that does not answer within as long is
   * dropped and connected again (a network cut can leave a socket open that hears nothing), and
   * the listeners resync once it is subscribed again.
   */
  private beat(link: Link, sub: Subscriber, epoch: number) {
    const heartbeat = this.source.heartbeat ?? HEARTBEAT;
    const current = () => link === this.link && link.live && link.epoch === epoch;
    const check = async () => {
      if (!current()) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answered = await Promise.race([
        sub.ping().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), heartbeat);
        }),
      ]);
      clearTimeout(timer);
      if (!current()) return;
      if (answered) return schedule();
      this.source.report(
        new BackendError(`redis watch: no answer to PING in ${heartbeat} ms, reconnecting`),
      );
      sub.disconnect(true);
    };
    const schedule = () => {
      link.beat = setTimeout(check, heartbeat);
      link.beat.unref?.();
    };
    schedule();
  }

  private heard(message: string) {
    const found = messageOf(message, (owner) => this.fanout.has(owner), this.source.decode);
    if (!found) return;
    const { owner, entry } = found;
    const catchUp = this.pending.get(owner);
    if (catchUp) return void catchUp.heard.push(entry);
    const last = this.caughtUp.get(owner);
    if (last !== undefined) {
      if (entry.cursor <= last) return;
      this.caughtUp.delete(owner);
    }
    this.fanout.emit(owner, entry);
  }

  /** Reads the owner's log from its head at `watch`, then what the channel brought meanwhile. */
  private async catchUp(owner: string, catchUp: CatchUp) {
    if (catchUp.started) return;
    catchUp.started = true;
    const current = () => this.pending.get(owner) === catchUp;
    let cursor = await catchUp.head;
    try {
      for (let more = cursor !== undefined; more; ) {
        const page = await this.source.changes(owner, { cursor, limit: PAGE });
        if (!current()) return;
        if (page.resync) throw new Error("resync");
        for (const entry of page.entries) this.fanout.emit(owner, entry);
        cursor = page.next;
        more = page.more === true;
      }
    } catch {
      cursor = undefined;
    }
    if (!current()) return;
    this.pending.delete(owner);
    if (cursor === undefined) return this.fanout.resync(owner);
    for (const entry of catchUp.heard) {
      if (entry.cursor <= cursor) continue;
      this.fanout.emit(owner, entry);
      cursor = entry.cursor;
    }
    this.caughtUp.set(owner, cursor);
  }
}
