// Cross-process watch on PostgreSQL: one LISTEN connection per store, opened with the first
// `watch` and closed with the last, whose notifications (an owner's key and a log position, never
// the record: NOTIFY payloads stop at 8000 bytes) make the store read the owner's new entries.
import { BackendError } from "../../errors.ts";
import { Fanout, type WatchListener } from "../shared/fanout.ts";
import type { ChangePage } from "../types.ts";
import { isAfter, md5 } from "./log-sql.ts";

/** The part of a `pg.Client` the watcher uses. */
export interface ListenClient {
  query(text: string): Promise<unknown>;
  /** `notification` gives `{ channel, payload }`, `error` an `Error`, `end` nothing. */
  on(event: "notification" | "error" | "end", listener: (...args: never[]) => void): unknown;
  end(): Promise<void>;
}

/** What the watcher needs of the store. */
export interface WatchSource {
  /** The NOTIFY channel (a plain identifier). */
  readonly channel: string;
  /**
   * How often (ms) the LISTEN connection is checked with a query, which must answer as soon: a
   * connection whose peer vanished without closing it (a network drop) says nothing otherwise.
   */
  readonly heartbeat: number;
  /** A connected client of its own; absent when the store cannot open one (no cross-process watch). */
  readonly connect?: (() => Promise<ListenClient>) | undefined;
  /** The encoded owner's head cursor. */
  head(owner: string): Promise<string>;
  /** A page of the encoded owner's log after `cursor`. */
  read(owner: string, cursor: string): Promise<ChangePage>;
  report(error: Error): void;
}

/** One watched owner: where its listeners are in its log, and its read under way. */
interface Watched {
  /** The owner as encoded in the log. */
  readonly owner: string;
  /** The cursor of the last entry delivered (`undefined` until the head is read). */
  cursor?: string;
  /** Settles once the head is read (or could not be). */
  ready: Promise<void>;
  /** The read under way, if any. */
  reading?: Promise<void> | undefined;
  /** Entries came while reading: read again after. */
  again: boolean;
}

/** Backoff of reconnects (ms): doubled from the first to the last, with jitter. */
const RETRY_FIRST = 100;
const RETRY_LAST = 5000;

/**
 * The watchers of one store: listeners per owner (a `Fanout`), the LISTEN connection, and the
 * reads that turn notifications into entries, in log order, each delivered once per listener.
 */
export class Watcher {
  private readonly fanout: Fanout;
  /** By owner, as given to `partition`. */
  private readonly owners = new Map<string, Watched>();
  /** The owner of each key a notification carries (md5 of the encoded owner). */
  private readonly keys = new Map<string, string>();
  private client: ListenClient | undefined;
  private connecting: Promise<void> | undefined;
  /** The connection was lost: listeners are told to resync once it is back. */
  private lost = false;
  private shut = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private wake: (() => void) | undefined;

  constructor(private readonly source: WatchSource) {
    this.fanout = new Fanout(source.report);
  }

  /** Calls `listener` with the owner's entries from now on; see `SessionPartition.watch`. */
  watch(owner: string, encoded: string, listener: WatchListener): () => void {
    const stop = this.fanout.watch(owner, listener);
    if (!this.owners.has(owner)) this.track(owner, encoded);
    this.listen();
    return () => {
      stop();
      if (this.fanout.has(owner)) return;
      const watched = this.owners.get(owner);
      this.owners.delete(owner);
      if (watched) this.keys.delete(md5(watched.owner));
      if (this.fanout.size === 0) void this.release();
    };
  }

  /**
   * Settles when the owner's watch knows its head: a write of this process waits for it, so that
   * a write made after `watch` returned is heard whichever connection commits first.
   */
  ready(owner: string): Promise<void> | undefined {
    return this.owners.get(owner)?.ready;
  }

  /** The owner's log grew (a write of this process): reads it now, before NOTIFY comes. */
  changed(owner: string): void {
    if (this.owners.has(owner)) this.read(owner);
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.shut = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.wake?.();
    await this.connecting;
    await this.release();
  }

  private track(owner: string, encoded: string): void {
    const watched: Watched = { owner: encoded, ready: Promise.resolve(), again: false };
    watched.ready = this.source.head(encoded).then(
      (cursor) => {
        watched.cursor = cursor;
      },
      // Read again by the first read, which then tells the listeners to resync.
      (error: Error) => this.source.report(error),
    );
    this.owners.set(owner, watched);
    this.keys.set(md5(encoded), owner);
  }

  /** Reads the owner's new entries, once at a time; a call during a read reads again after it. */
  private read(owner: string): void {
    const watched = this.owners.get(owner);
    if (!watched) return;
    if (watched.reading) {
      watched.again = true;
      return;
    }
    watched.reading = this.drain(owner, watched).finally(() => {
      watched.reading = undefined;
    });
  }

  private async drain(owner: string, watched: Watched): Promise<void> {
    await watched.ready;
    do {
      watched.again = false;
      try {
        await this.catchUp(owner, watched);
      } catch (error) {
        // The cursor stays where it was: the next notification (or this retry) reads from it.
        this.source.report(error as Error);
        this.later(() => this.read(owner), RETRY_LAST);
        return;
      }
    } while (watched.again && this.owners.get(owner) === watched);
  }

  private async catchUp(owner: string, watched: Watched): Promise<void> {
    if (watched.cursor === undefined) {
      watched.cursor = await this.source.head(watched.owner);
      return this.fanout.resync(owner);
    }
    for (;;) {
      const page = await this.source.read(watched.owner, watched.cursor);
      if (this.owners.get(owner) !== watched) return;
      watched.cursor = page.next;
      if (page.resync) return this.fanout.resync(owner);
      for (const entry of page.entries) this.fanout.emit(owner, entry);
      if (!page.more) return;
    }
  }

  /** A notification: the owner's log grew to `seq`; read it unless delivered already. */
  private notified(payload = ""): void {
    const [key = "", seq = ""] = payload.split(" ");
    const owner = this.keys.get(key);
    const watched = owner === undefined ? undefined : this.owners.get(owner);
    if (!watched || (watched.cursor !== undefined && !isAfter(seq, watched.cursor))) return;
    this.read(owner as string);
  }

  /** Opens the LISTEN connection if someone watches and none is open or opening. */
  private listen(): void {
    if (this.client || this.connecting || this.shut || this.fanout.size === 0) return;
    if (!this.source.connect) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    for (let attempt = 0; !this.shut && this.fanout.size > 0; attempt++) {
      const client = await this.open(attempt);
      if (!client) {
        await this.pause(backoff(attempt));
        continue;
      }
      if (this.shut || this.fanout.size === 0) return void client.end().catch(() => {});
      this.client = client;
      this.beat(client);
      if (this.lost) {
        this.lost = false;
        this.fanout.resync();
      }
      // What was written between the heads and LISTEN: read it now.
      for (const owner of this.owners.keys()) this.read(owner);
      return;
    }
  }

  /** A client that listens, or `undefined` (reported on the first attempt). */
  private async open(attempt: number): Promise<ListenClient | undefined> {
    let client: ListenClient | undefined;
    try {
      client = await (this.source.connect as () => Promise<ListenClient>)();
      const mine = client;
      client.on("notification", (message: { channel: string; payload?: string }) => {
        if (message.channel === this.source.channel) this.notified(message.payload);
      });
      client.on("error", (error: Error) => this.drop(mine, error));
      client.on("end", () => this.drop(mine));
      await client.query(`LISTEN "${this.source.channel}"`);
      return client;
    } catch (error) {
      void client?.end().catch(() => {});
      // Once per outage: the loss was reported already, and so is the first failed attempt.
      if (attempt === 0 && !this.lost) this.source.report(listenError(error as Error));
      return undefined;
    }
  }

  /** Checks `client` every `heartbeat` ms while it is the LISTEN connection; drops it if silent. */
  private beat(client: ListenClient): void {
    const { heartbeat } = this.source;
    const check = async () => {
      if (this.client !== client) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silent = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${heartbeat} ms`)), heartbeat);
      });
      try {
        const answer = client.query("SELECT 1");
        // Rejected later when the connection is dropped: nobody waits for it then.
        answer.catch(() => {});
        await Promise.race([answer, silent]);
        this.later(check, heartbeat);
      } catch (error) {
        this.drop(client, error as Error);
      } finally {
        clearTimeout(timer);
      }
    };
    this.later(check, heartbeat);
  }

  /** The LISTEN connection broke: connect again, and tell the listeners to resync then. */
  private drop(client: ListenClient, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.lost = true;
    this.source.report(listenError(error ?? new Error("connection ended")));
    void client.end().catch(() => {});
    this.listen();
  }

  /** Closes the LISTEN connection (nobody watches, or the store closes). */
  private async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.lost = false;
    await client?.end().catch(() => {});
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.later(resolve, ms);
    });
  }

  private later(run: () => void, ms: number): void {
    if (this.shut) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref?.();
    this.timers.add(timer);
  }
}

function backoff(attempt: number): number {
  const ms = Math.min(RETRY_LAST, RETRY_FIRST * 2 ** attempt);
  return ms * (0.8 + Math.random() * 0.4);
}

function listenError(error: Error): BackendError {
  return new BackendError(`postgres LISTEN connection lost: ${error.message}`, { cause: error });
}
