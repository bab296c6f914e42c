// One open `GET /v1/events` stream: the owner's change log as server-sent events on a plain
// `ReadableStream` the stream pushes into (no TransformStream, no writer, no async loop while it
// waits). Thousands stay open in one process, so a stream is one small object: between changes it
// holds no promise, no timer and no closure but its watch listener; heartbeats and the token's
// expiry come from its `EventStreams` (one ticker for all).
import type { ChangeEntry, ResyncSignal, SessionPartition } from "../stores/types.ts";
import { toWire } from "./sessions.ts";

/** Chunks queued for a reader that does not read before the stream stops queueing (`behind`). */
export const MAX_QUEUED = 1000;
/** Entries read from the log at a time when a stream catches up. */
const CATCH_UP_PAGE = 100;
/** How long an `EventSource` waits before it reconnects (the `retry:` field). */
const RETRY_MS = 2000;
const RESYNC: ResyncSignal = Object.freeze({ resync: true });
// One for every stream: `encode` keeps no state between calls.
const encoder = new TextEncoder();
/**
 * Chunks counted one each, with a function of its own: without `size`, Node makes a new `() => 1`
 * for every stream.
 */
const QUEUING: QueuingStrategy<Uint8Array> = Object.freeze({ highWaterMark: 1, size: () => 1 });

type Heard = ChangeEntry | ResyncSignal;

/** What a stream tells the streams that hold it. */
export interface StreamHost {
  /** The stream has ended: forget it (its owner's count, the open streams). */
  release(stream: EventStream): void;
}

/**
 * The source of one response body (`new ReadableStream(stream)`): first what the log holds after
 * `Last-Event-ID`, then `ready`, then each entry the watch hears (dropping what was sent already:
 * cursors sort in log order). A reader that stops reading gets nothing more queued past
 * `MAX_QUEUED` chunks; once it has read them all, the next tick catches it up from the log (or
 * says `resync` where there is none). No `pull`: the stream pushes, and a `pull` would cost a
 * closure per stream and a promise per chunk.
 */
export class EventStream implements UnderlyingDefaultSource<Uint8Array> {
  /** The id of the last event sent (the log's head at `ready`). */
  private cursor: string | undefined;
  /** What the watch brought while the log was being read; absent when nothing waits. */
  private waiting: Heard[] | undefined;
  /** The log read under way (the first, or after a resync), which `close()` waits for. */
  reading: Promise<void> | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private unwatch: (() => void) | undefined;
  private done = false;
  /** The reader let `MAX_QUEUED` chunks pile up: nothing more is queued until it reads. */
  private behind = false;
  private readied = false;

  constructor(
    private readonly host: StreamHost,
    /** The owner, for the host's count per owner. */
    readonly owner: string,
    /** The owner's log, to catch up from; absent where the store only has `watch`. */
    private readonly changes: SessionPartition["changes"],
    /** When the token expires (epoch ms): the stream ends then. */
    readonly until: number,
    /** Which tick of the host's heartbeat round writes this stream's heartbeat. */
    private readonly beat: number,
  ) {}

  /**
   * Starts following the owner's log from `lastEventId` (or from now) with its `watch`; the body
   * to respond with.
   */
  follow(
    watch: NonNullable<SessionPartition["watch"]>,
    lastEventId: string | undefined,
  ): ReadableStream<Uint8Array> {
    const body = new ReadableStream<Uint8Array>(this, QUEUING);
    // Watch first: an entry appended while the log is read is then heard too (and dropped if the
    // read had it).
    this.unwatch = watch((entry) => this.hear(entry));
    this.read(lastEventId, lastEventId !== undefined);
    return body;
  }

  /** `UnderlyingDefaultSource.start`: where events go. */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  /** `UnderlyingDefaultSource.cancel`: the client went away. */
  cancel(): void {
    this.end();
  }

  /**
   * The host's tick `slot` (of its heartbeat round): a reader that was behind and has read
   * everything is caught up; on the stream's own slot, a heartbeat comment keeps proxies from
   * closing an idle stream.
   */
  tick(slot: number): void {
    if (this.done) return;
    if (!this.behind) {
      if (slot === this.beat) this.write(": heartbeat\n\n");
    } else if (!this.reading && (this.controller?.desiredSize ?? 0) > 0) {
      this.behind = false;
      this.read(this.cursor, true);
    }
  }

  /** Stops following and closes the body (the client then sees the stream end). */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.unwatch?.();
    this.unwatch = undefined;
    this.waiting = undefined;
    try {
      this.controller?.close();
    } catch {
      // cancelled by the reader already
    }
    this.host.release(this);
  }

  /** An entry (or a resync) from the watch. */
  private hear(entry: Heard): void {
    // Behind: the catch-up that follows reads from the log what is dropped here.
    if (this.done || this.behind) return;
    if (this.reading) {
      if (!this.waiting) this.waiting = [entry];
      // A read this far behind lists again instead.
      else if (this.waiting.length >= MAX_QUEUED) this.waiting = [RESYNC];
      else this.waiting.push(entry);
    } else if ("resync" in entry) this.read(this.cursor, true);
    else if (this.cursor === undefined || entry.cursor > this.cursor) this.send(entry);
  }

  /** Reads the log after `from` (see `catchUp`), then what the watch brought meanwhile. */
  private read(from: string | undefined, missed: boolean): void {
    const reading: Promise<void> = this.catchUp(from, missed)
      .then(() => {
        if (this.reading === reading) this.reading = undefined;
        this.drain();
      })
      .catch(() => {
        // The store failed: end, and the client resumes from its last id when it reconnects.
        if (this.reading === reading) this.reading = undefined;
        this.end();
      });
    this.reading = reading;
  }

  /**
   * Sends what the log holds after `from`, then `ready` once per stream. A log that lost `from`,
   * or a partition with no log to read (`watch` only), gets a `resync` event instead, when
   * `missed` says entries may have been missed.
   */
  private async catchUp(from: string | undefined, missed: boolean): Promise<void> {
    const { changes } = this;
    if (!changes) {
      if (missed) this.event("resync", "{}");
    } else if (from === undefined) this.cursor = (await changes({ limit: 1 })).next;
    else {
      for (let cursor = from; ; ) {
        const page = await changes({ cursor, limit: CATCH_UP_PAGE });
        if (this.done) return;
        if (page.resync) {
          this.cursor = page.next;
          this.event("resync", "{}", page.next);
          break;
        }
        for (const entry of page.entries) if (!this.send(entry)) return;
        this.cursor = cursor = page.next;
        if (!page.more) break;
      }
    }
    if (this.readied || this.done) return;
    this.readied = true;
    const { cursor } = this;
    this.event("ready", JSON.stringify({ cursor: cursor ?? null }), cursor, RETRY_MS);
  }

  /** Hears what waited for the log read, until another read starts or the reader is behind. */
  private drain(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    let heard = 0;
    while (heard < waiting.length && !this.reading && !this.behind && !this.done) {
      this.hear(waiting[heard++] as Heard);
    }
    // What is left waits for the read that started (a resync); behind or ended, it is dropped.
    if (heard === waiting.length || this.behind || this.done) {
      if (this.waiting === waiting) this.waiting = undefined;
    } else waiting.splice(0, heard);
  }

  /** One entry as an event: the session as the API sends it, or `{ id }` for a removal. */
  private send(entry: ChangeEntry): boolean {
    const data = entry.record ? toWire(entry.record) : { id: entry.id };
    if (!this.event(entry.change, JSON.stringify(data), entry.cursor)) return false;
    this.cursor = entry.cursor;
    return true;
  }

  /** Writes one event (`data` is JSON: one line); false when the reader is behind. */
  private event(name: string, data: string, id?: string, retry?: number): boolean {
    let text = `event: ${name}\ndata: ${data}\n`;
    if (id !== undefined) text += `id: ${id}\n`;
    if (retry !== undefined) text += `retry: ${retry}\n`;
    return this.write(`${text}\n`);
  }

  private write(text: string): boolean {
    const controller = this.controller;
    if (this.done || !controller) return false;
    if ((controller.desiredSize ?? 0) <= -MAX_QUEUED) {
      this.behind = true;
      this.waiting = undefined;
      return false;
    }
    controller.enqueue(encoder.encode(text));
    return true;
  }
}
