// The Redis store's `watch`: one subscriber connection per store, on the namespace's channel,
// where the scripts that write an owner's records publish each entry they log. Messages are
// routed to the owner's listeners (`Fanout`); a connection lost and back tells them to resync.
import { BackendError } from "../../errors.ts";
import { Fanout, type WatchListener } from "../shared/fanout.ts";
import type { ChangeEntry, ChangePage, ChangesRequest } from "../types.ts";
import { type DecodeRecord, messageOf } from "./log.ts";

/** What the store's `watch` needs of its subscriber connection: an ioredis `Redis` has it. */
export interface Subscriber {
  /** Connects (the connection is made with `lazyConnect`). */
  connect(): Promise<unknown>;
  /** Redis `SUBSCRIBE`. */
  subscribe(channel: string): Promise<unknown>;
  /** `message` (channel, message), `ready` (connected, again too), `close`, `error`. */
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "ready" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Closes the connection; with `true`, reconnects. */
  disconnect(reconnect?: boolean): void;
}

/**
 * A subscriber connection like `client` (ioredis `duplicate`, not connected yet): a `Redis`
 * re-subscribes by itself no more (the watch does, to know when it is live again); a `Cluster`
 * subscribes through its own node.
 */
export function openSubscriber(client: object): Subscriber {
  const like = client as { duplicate?: (...args: unknown[]) => Subscriber; isCluster?: boolean };
  if (typeof like.duplicate !== "function") {
    throw new BackendError("the redis store's watch needs a client with duplicate() (ioredis)");
  }
  return like.isCluster === true
    ? like.duplicate.call(client, [], { lazyConnect: true })
    : like.duplicate.call(client, { lazyConnect: true, autoResubscribe: false });
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
}

/** One subscriber connection, from its opening to its end. */
interface Link {
  sub?: Subscriber;
  /** Subscribed: every entry published from now on arrives, in order. */
  live: boolean;
  /** Was live, and the connection dropped: its listeners may miss entries. */
  lost: boolean;
  done: boolean;
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
    link.sub?.disconnect();
  }

  private connect(): Link {
    const link: Link = { live: false, lost: false, done: false };
    this.link = link;
    this.source.open().then(
      (sub) => {
        if (link.done) return sub.disconnect();
        link.sub = sub;
        sub.on("error", () => {});
        sub.on("message", (_, message) => {
          if (link === this.link) this.heard(message);
        });
        sub.on("close", () => {
          if (link.live) link.lost = true;
          link.live = false;
        });
        sub.on("ready", () => void this.subscribe(link, sub));
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
  private async subscribe(link: Link, sub: Subscriber) {
    try {
      await sub.subscribe(this.source.channel);
    } catch (error) {
      if (link.done) return;
      this.source.report(error instanceof Error ? error : new Error(String(error)));
      // Reconnect: `ready` again, and another try.
      return sub.disconnect(true);
    }
    if (link !== this.link) return;
    link.live = true;
    if (link.lost) {
      link.lost = false;
      this.pending.clear();
      this.caughtUp.clear();
      return this.fanout.resync();
    }
    for (const [owner, catchUp] of this.pending) void this.catchUp(owner, catchUp);
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
