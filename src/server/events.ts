// `GET /v1/events`: an owner's change log as server-sent events, resumed with `Last-Event-ID`,
// fed by the store's `watch` (its own channel across processes), with heartbeats, ended when the
// token expires or the server closes.
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { MAX_TIMER_MS } from "../constants.ts";
import { HEARTBEAT_MS } from "../protocol.ts";
import type { ChangeEntry, ResyncSignal, SessionPartition } from "../stores/types.ts";
import { unref } from "../timers.ts";
import { HttpError } from "./errors.ts";
import { toWire } from "./sessions.ts";

/** Entries waiting for a slow reader before the stream gives up on them and says `resync`. */
const MAX_QUEUED = 1000;
/** Entries read from the log at a time when a stream catches up. */
const CATCH_UP_PAGE = 100;
/** How long an `EventSource` waits before it reconnects (the `retry:` field). */
const RETRY_MS = 2000;
const RESYNC: ResyncSignal = Object.freeze({ resync: true });

/** Where a stream leaves its `end` for the server's `close()`. */
interface Enders {
  add(end: () => void): void;
  delete(end: () => void): void;
}

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
 * (which resolves once every stream let go of its watch).
 */
export class EventStreams {
  private readonly owners = new Map<string, number>();
  private readonly open = new Set<Promise<void>>();
  // The `end` of every open stream: one set, not a listener per stream on a shared signal.
  private readonly enders = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly perOwner: number,
    private readonly heartbeatMs: number = HEARTBEAT_MS,
    private readonly onCount: (open: number) => void = () => {},
  ) {}

  /** How many streams are open. */
  get size(): number {
    return this.open.size;
  }

  /** The response of `GET /v1/events`: 429 `TOO_MANY_STREAMS` over the owner's cap. */
  respond(c: Context, request: StreamRequest): Response {
    const { owner } = request.partition;
    const count = this.owners.get(owner) ?? 0;
    if (count >= this.perOwner) {
      throw new HttpError(
        429,
        "TOO_MANY_STREAMS",
        `the owner has the most open event streams this server allows (${this.perOwner})`,
      );
    }
    this.owners.set(owner, count + 1);
    let done!: () => void;
    const ended = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.open.add(ended);
    this.onCount(this.open.size);
    const release = () => {
      const left = (this.owners.get(owner) ?? 1) - 1;
      if (left > 0) this.owners.set(owner, left);
      else this.owners.delete(owner);
      this.open.delete(ended);
      this.onCount(this.open.size);
      done();
    };
    const closing = {
      add: (end: () => void) => this.enders.add(end),
      delete: (end: () => void) => this.enders.delete(end),
    };
    return streamSSE(c, (stream) => {
      if (this.closed) return Promise.resolve().finally(release);
      return follow(stream, request, closing, this.heartbeatMs).finally(release);
    });
  }

  /** Ends every stream, and resolves when they have let go of the store. */
  async close(): Promise<void> {
    this.closed = true;
    for (const end of this.enders) end();
    await Promise.allSettled(this.open);
  }
}

/**
 * Writes the owner's changes to `stream` until the client goes, the token expires or the server
 * closes: first what the log holds after `lastEventId`, then `ready`, then each entry the watch
 * hears (dropping what was sent already: cursors sort in log order), heartbeats between.
 */
async function follow(
  stream: SSEStreamingApi,
  { partition, lastEventId, until }: StreamRequest,
  closing: Enders,
  heartbeatMs: number,
): Promise<void> {
  const queue: (ChangeEntry | ResyncSignal)[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  let ended = false;
  const end = () => {
    ended = true;
    notify();
  };
  // Watch first: an entry appended while the log is read is then heard too (and dropped if the
  // read had it).
  const stopWatching = partition.watch((entry) => {
    // A reader that falls this far behind lists again instead.
    if (queue.length >= MAX_QUEUED) queue.splice(0, queue.length, RESYNC);
    else queue.push(entry);
    notify();
  });
  stream.onAbort(end);
  closing.add(end);
  const expiry = unref(setTimeout(end, Math.max(0, Math.min(until - Date.now(), MAX_TIMER_MS))));
  try {
    let cursor = await catchUp(stream, partition, lastEventId, lastEventId !== undefined);
    await stream.writeSSE({
      event: "ready",
      data: JSON.stringify({ cursor: cursor ?? null }),
      retry: RETRY_MS,
      ...(cursor !== undefined && { id: cursor }),
    });
    while (!ended && !stream.aborted) {
      const next = queue.shift();
      if (next === undefined) {
        const woken = await waitFor(heartbeatMs, (resolve) => {
          wake = resolve;
        });
        if (!woken && !ended) await stream.write(": heartbeat\n\n");
      } else if ("resync" in next) {
        cursor = await catchUp(stream, partition, cursor, true);
      } else if (cursor === undefined || next.cursor > cursor) {
        await send(stream, next);
        cursor = next.cursor;
      }
    }
  } finally {
    stopWatching();
    clearTimeout(expiry);
    closing.delete(end);
  }
}

/**
 * Sends what the log holds after `from` and resolves to the cursor after it (the head when
 * `from` is absent). A log that lost `from`, or a partition with no log to read (`watch` only),
 * gets a `resync` event instead, when `missed` says entries may have been missed.
 */
async function catchUp(
  stream: SSEStreamingApi,
  partition: SessionPartition,
  from: string | undefined,
  missed: boolean,
): Promise<string | undefined> {
  if (!partition.changes) {
    if (missed) await stream.writeSSE({ event: "resync", data: "{}" });
    return from;
  }
  if (from === undefined) return (await partition.changes({ limit: 1 })).next;
  let cursor = from;
  for (;;) {
    const page = await partition.changes({ cursor, limit: CATCH_UP_PAGE });
    if (page.resync) {
      await stream.writeSSE({ event: "resync", data: "{}", id: page.next });
      return page.next;
    }
    for (const entry of page.entries) await send(stream, entry);
    cursor = page.next;
    if (!page.more || stream.aborted) return cursor;
  }
}

/** One entry as an event: the session as the API sends it, or `{ id }` for a removal. */
function send(stream: SSEStreamingApi, entry: ChangeEntry): Promise<void> {
  const data = entry.record ? toWire(entry.record) : { id: entry.id };
  return stream.writeSSE({ event: entry.change, data: JSON.stringify(data), id: entry.cursor });
}

/** Resolves `true` when `arm`'s resolver is called, `false` after `ms`. */
function waitFor(ms: number, arm: (resolve: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = unref(setTimeout(() => resolve(false), ms));
    arm(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
