// `GET /v1/events`: an owner's change log as server-sent events, resumed with `Last-Event-ID`,
// fed by the store's `watch` (its own channel across processes), with heartbeats, ended when the
// token expires or the server closes. Each stream is an `EventStream` (./sse.ts); what they all
// need in time (heartbeats, the tokens' expiry) comes from one ticker here, not a timer each.
import type { Context } from "hono";
import { HEARTBEAT_MS } from "../protocol.ts";
import type { SessionPartition } from "../stores/types.ts";
import { unref } from "../timers.ts";
import { HttpError } from "./errors.ts";
import { EventStream, type StreamHost } from "./sse.ts";

/**
 * How often the ticker runs (about): it ends streams whose token expired (so at most this late)
 * and writes the heartbeats of one slice of the streams, so that thousands of streams opened
 * together do not all write at once.
 */
const TICK_MS = 250;

/** The status and headers of every event stream (the headers of a server-sent events response). */
const INIT: ResponseInit = Object.freeze({
  status: 200,
  headers: Object.freeze({
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "transfer-encoding": "chunked",
  }),
});

/** What one stream needs besides the request. */
export interface StreamRequest {
  /** The owner's partition; it has `watch`. */
  readonly partition: SessionPartition & Pick<Required<SessionPartition>, "watch">;
  /** Where to resume (the `Last-Event-ID`), or none: from now. */
  readonly lastEventId: string | undefined;
  /** When the token expires (epoch ms): the stream ends then. */
  readonly until: number;
}

/**
 * The open event streams of one server: at most `perOwner` per owner, all ended by `close()`
 * (which resolves once every stream let go of the store).
 */
export class EventStreams implements StreamHost {
  private readonly owners = new Map<string, number>();
  private readonly streams = new Set<EventStream>();
  private closed = false;
  /** Ticks in one heartbeat round: each stream has its heartbeat on one of them. */
  private readonly slots: number;
  private readonly tickMs: number;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** The slot of the next tick. */
  private turn = 0;
  private nextSlot = 0;

  constructor(
    private readonly perOwner: number,
    heartbeatMs: number = HEARTBEAT_MS,
    private readonly onCount: (open: number) => void = () => {},
  ) {
    // A round lasts `heartbeatMs` (or a little less): no idle stream waits longer for one.
    this.slots = Math.max(1, Math.floor(heartbeatMs / TICK_MS));
    this.tickMs = heartbeatMs / this.slots;
  }

  /** How many streams are open. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * The response of `GET /v1/events`: 429 `TOO_MANY_STREAMS` over the owner's cap. A web
   * `Response` whose body the stream pushes into; nothing keeps `c` once it is returned.
   */
  respond(_c: Context, request: StreamRequest): Response {
    const { partition, lastEventId, until } = request;
    const { owner } = partition;
    const count = this.owners.get(owner) ?? 0;
    if (count >= this.perOwner) {
      throw new HttpError(
        429,
        "TOO_MANY_STREAMS",
        `the owner has the most open event streams this server allows (${this.perOwner})`,
      );
    }
    this.owners.set(owner, count + 1);
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % this.slots;
    const stream = new EventStream(this, owner, partition.changes, until, slot);
    this.streams.add(stream);
    this.onCount(this.streams.size);
    let body: ReadableStream<Uint8Array>;
    try {
      // Only what the stream uses of the partition (`changes`, and the listener `watch` keeps):
      // not the partition, nor the request.
      body = stream.follow(partition.watch, lastEventId);
    } catch (error) {
      stream.end();
      throw error;
    }
    if (this.closed || until <= Date.now()) stream.end();
    else this.ticker ??= unref(setInterval(() => this.onTick(), this.tickMs));
    return new Response(body, INIT);
  }

  /** `StreamHost.release`: the stream ended. */
  release(stream: EventStream): void {
    if (!this.streams.delete(stream)) return;
    const left = (this.owners.get(stream.owner) ?? 1) - 1;
    if (left > 0) this.owners.set(stream.owner, left);
    else this.owners.delete(stream.owner);
    this.onCount(this.streams.size);
    if (this.streams.size === 0) this.stopTicker();
  }

  /** Ends every stream, and resolves when they have let go of the store. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTicker();
    const reading: Promise<void>[] = [];
    for (const stream of this.streams) {
      if (stream.reading) reading.push(stream.reading);
      stream.end();
    }
    await Promise.allSettled(reading);
  }

  /** Ends the streams whose token expired; heartbeats for this tick's slice of the others. */
  private onTick(): void {
    const now = Date.now();
    const slot = this.turn;
    this.turn = (slot + 1) % this.slots;
    // `end` deletes from the set: a Set's iteration allows that.
    for (const stream of this.streams) {
      if (stream.until <= now) stream.end();
      else stream.tick(slot);
    }
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
