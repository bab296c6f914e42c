// The event streams of one process, held by thousands: one ticker for every stream's heartbeat
// and token expiry (no timer per stream), heartbeats spread over the round, a reader that falls
// behind caught up from the log, and close() waiting for a log read under way. EventStreams on a
// fake owner's log, with fake timers; the HTTP route is in events.test.ts.
import type { Context } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventStreams, type StreamRequest } from "../../src/server/events.ts";
import { MAX_QUEUED } from "../../src/server/sse.ts";
import type { ChangeEntry, ChangePage, ChangesRequest } from "../../src/stores/types.ts";

beforeEach(() => {
  // setImmediate stays real: `flush` lets the streams' promises run between ticks.
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};
const context = undefined as unknown as Context;

/** One owner's change log in memory: `append` writes an entry and tells the watchers. */
function ownerLog(owner: string, options: { readable?: boolean } = {}) {
  const entries: ChangeEntry[] = [];
  const watchers = new Set<(entry: ChangeEntry | { resync: true }) => void>();
  const cursorOf = (n: number) => `c${String(n).padStart(8, "0")}`;
  let hold: Promise<void> | undefined;
  const changes = async ({ cursor, limit }: ChangesRequest): Promise<ChangePage> => {
    await hold;
    if (cursor === undefined) return { entries: [], next: cursorOf(entries.length) };
    const from = Number(cursor.slice(1));
    const page = entries.slice(from, from + limit);
    const next = cursorOf(from + page.length);
    return from + page.length < entries.length
      ? { entries: page, next, more: true }
      : { entries: page, next };
  };
  const partition = {
    owner,
    ...(options.readable !== false && { changes }),
    watch(listener: (entry: ChangeEntry | { resync: true }) => void) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  } as unknown as StreamRequest["partition"];
  return {
    partition,
    watchers,
    /** Makes `changes` wait until the promise settles. */
    holdReads(until: Promise<void> | undefined) {
      hold = until;
    },
    append(id: string) {
      const entry: ChangeEntry = {
        cursor: cursorOf(entries.length + 1),
        change: "removed",
        id,
        at: Date.now(),
      };
      entries.push(entry);
      for (const watcher of watchers) watcher(entry);
    },
  };
}

/** A response body read as text, chunk by chunk, while `reading` is on. */
function bodyOf(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const state = { text: "", done: false, reading: true };
  let wake: (() => void) | undefined;
  void (async () => {
    for (;;) {
      while (!state.reading) await new Promise<void>((resolve) => (wake = resolve));
      const { done, value } = await reader.read();
      if (done) break;
      state.text += decoder.decode(value, { stream: true });
    }
    state.done = true;
  })();
  return {
    state,
    /** The events' names, in order (comments left out). */
    names: () => [...state.text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]),
    ids: () => [...state.text.matchAll(/^data: \{"id":"(.*)"\}$/gm)].map((m) => m[1]),
    heartbeats: () => state.text.split(": heartbeat\n").length - 1,
    pause: () => {
      state.reading = false;
    },
    resume: () => {
      state.reading = true;
      wake?.();
    },
    cancel: () => reader.cancel(),
  };
}

function open(
  streams: EventStreams,
  owner: string,
  until = Date.now() + 3_600_000,
  lastEventId?: string,
) {
  const log = ownerLog(owner);
  const response = streams.respond(context, { partition: log.partition, lastEventId, until });
  return { log, body: bodyOf(response), response };
}

describe("EventStreams: one ticker for every stream", () => {
  it("runs one interval for all its open streams, and none once they have ended", async () => {
    const counts: number[] = [];
    const streams = new EventStreams(4, 15_000, (n) => counts.push(n));
    const opened = Array.from({ length: 40 }, (_, i) => open(streams, `owner${i}`));
    await flush();
    expect(opened.every((o) => o.body.names().includes("ready"))).toBe(true);
    expect(vi.getTimerCount()).toBe(1);
    for (const o of opened) await o.body.cancel();
    await flush();
    expect(streams.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(counts.at(-1)).toBe(0);
    expect(Math.max(...counts)).toBe(40);
  });

  it("gives each stream a heartbeat every `heartbeat`, spread over the round (not all at once)", async () => {
    // 1 s: four ticks of 250 ms, each writing the heartbeats of a quarter of the streams.
    const streams = new EventStreams(4, 1000);
    const opened = Array.from({ length: 8 }, (_, i) => open(streams, `owner${i}`));
    await flush();
    const beats = () => opened.reduce((sum, o) => sum + o.body.heartbeats(), 0);
    for (let tick = 1; tick <= 8; tick++) {
      await vi.advanceTimersByTimeAsync(250);
      await flush();
      expect(beats()).toBe(tick * 2);
    }
    expect(opened.map((o) => o.body.heartbeats())).toEqual(Array(8).fill(2));
    await streams.close();
  });

  it("ends each stream when its token expires, within a tick", async () => {
    const streams = new EventStreams(4, 15_000);
    const soon = open(streams, "soon", Date.now() + 600);
    const later = open(streams, "later", Date.now() + 60_000);
    await flush();
    await vi.advanceTimersByTimeAsync(599);
    await flush();
    expect(soon.body.state.done).toBe(false);
    await vi.advanceTimersByTimeAsync(250);
    await flush();
    expect(soon.body.state.done).toBe(true);
    expect(later.body.state.done).toBe(false);
    expect(streams.size).toBe(1);
    // The watch let go of the ended stream.
    expect(soon.log.watchers.size).toBe(0);
    await streams.close();
    await flush();
    expect(later.body.state.done).toBe(true);
  });
});

describe("EventStream", () => {
  it("catches a reader that fell behind up from the log: every entry once, in order", async () => {
    const streams = new EventStreams(4, 15_000);
    const { log, body } = open(streams, "alice");
    await flush();
    expect(body.names()).toEqual(["ready"]);
    body.pause();
    await flush();
    const count = MAX_QUEUED + 200;
    for (let i = 0; i < count; i++) log.append(`s${i}`);
    body.resume();
    await flush();
    // It read what was queued: about MAX_QUEUED (and the read under way when it paused, and the
    // queue's high-water mark of one); the rest waited in the log, not in memory.
    expect(body.ids().length).toBeGreaterThanOrEqual(MAX_QUEUED);
    expect(body.ids().length).toBeLessThanOrEqual(MAX_QUEUED + 2);
    // A tick then catches it up from the log.
    for (let i = 0; i < 4 && body.ids().length < count; i++) {
      await vi.advanceTimersByTimeAsync(250);
      await flush();
    }
    expect(body.ids()).toEqual(Array.from({ length: count }, (_, i) => `s${i}`));
    expect(body.names()).not.toContain("resync");
    await streams.close();
  });

  it("says resync to a reader that fell behind where the store has no log to read", async () => {
    const streams = new EventStreams(4, 15_000);
    const log = ownerLog("alice", { readable: false });
    const body = bodyOf(
      streams.respond(context, {
        partition: log.partition,
        lastEventId: undefined,
        until: Date.now() + 60_000,
      }),
    );
    await flush();
    body.pause();
    await flush();
    for (let i = 0; i < MAX_QUEUED + 10; i++) log.append(`s${i}`);
    body.resume();
    await vi.advanceTimersByTimeAsync(250);
    await flush();
    expect(body.names().at(-1)).toBe("resync");
    expect(body.ids().length).toBeLessThan(MAX_QUEUED + 10);
    await streams.close();
  });

  it("sends what was heard while the log was read after it, without repeats", async () => {
    const streams = new EventStreams(4, 15_000);
    const log = ownerLog("alice");
    log.append("a");
    let release!: () => void;
    log.holdReads(new Promise<void>((resolve) => (release = resolve)));
    const body = bodyOf(
      streams.respond(context, {
        partition: log.partition,
        lastEventId: "c00000000",
        until: Date.now() + 60_000,
      }),
    );
    await flush();
    // Heard while the read waits: "b" is in the page too, "c" only heard.
    log.append("b");
    log.holdReads(undefined);
    release();
    await flush();
    log.append("c");
    await flush();
    expect(body.names()).toEqual(["removed", "removed", "ready", "removed"]);
    expect(body.ids()).toEqual(["a", "b", "c"]);
    await streams.close();
  });

  it("close() ends every stream and waits for a log read under way", async () => {
    const streams = new EventStreams(4, 15_000);
    const log = ownerLog("alice");
    let release!: () => void;
    log.holdReads(new Promise<void>((resolve) => (release = resolve)));
    const body = bodyOf(
      streams.respond(context, {
        partition: log.partition,
        lastEventId: "c00000000",
        until: Date.now() + 60_000,
      }),
    );
    let closed = false;
    const closing = streams.close().then(() => {
      closed = true;
    });
    await flush();
    expect(body.state.done).toBe(true);
    expect(log.watchers.size).toBe(0);
    expect(closed).toBe(false);
    release();
    await closing;
    expect(body.names()).toEqual([]);
  });
});
