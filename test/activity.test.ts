// trackActivity in Node: two managers on one shared store and namespace are two tabs of one
// origin (Node has a real BroadcastChannel); plain EventTargets stand in for their documents.
// The clock is fake, so "continuous activity for 40 s" is exact and fast.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type ActivityOptions,
  type Duration,
  InvalidSessionIdError,
  InvalidTtlError,
  type Session,
  SessionError,
  SessionManager,
} from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionRecord, SessionStore } from "../src/stores/types.ts";
import { remoteStore } from "../src/sync/remote.ts";
import { replicaStore } from "../src/sync/replica.ts";
import { T0, useFakeClock } from "./helpers/clock.ts";
import { IN_PROCESS_URL, inProcessServer, Network, tokenFor } from "./helpers/sync-server.ts";

useFakeClock();

const open: SessionManager<unknown>[] = [];
afterEach(async () => {
  for (const sm of open.splice(0)) await sm.close();
});

/** Lets promises, store calls and BroadcastChannel messages run (setImmediate stays real). */
async function drain(turns = 12): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

let sequence = 0;

/**
 * `sm.trackActivity(id, options)`, resolved once its listeners are on the page: they attach when
 * the tracker's module has loaded (a dynamic import).
 */
async function track(
  sm: SessionManager<unknown>,
  id: string,
  options: ActivityOptions & { target: Page },
): Promise<() => void> {
  const before = options.target.adds;
  const stop = sm.trackActivity(id, options);
  for (let turn = 0; options.target.adds === before; turn++) {
    if (turn > 100_000) throw new Error("the tracker never listened");
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return stop;
}

/** A page's document as far as trackActivity sees it, counting the listeners it holds. */
class Page extends EventTarget {
  readonly listening = new Map<string, AddEventListenerOptions | boolean | undefined>();
  adds = 0;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    this.listening.set(type, options);
    this.adds++;
    super.addEventListener(type, listener, options);
  }
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: EventListenerOptions | boolean,
  ): void {
    this.listening.delete(type);
    super.removeEventListener(type, listener, options);
  }
  /** The user does something. */
  act(type = "keydown"): void {
    this.dispatchEvent(new Event(type));
  }
}

/** Tabs: managers on one store that says it is shared (like localStorage), counting writes. */
async function tabs(count: number, options: { warnBefore?: Duration; slow?: boolean } = {}) {
  const { slow, ...manager } = options;
  const inner = memoryStore();
  // A store that answers a turn later, as IndexedDB does: both tabs read before either writes.
  const later = <T>(value: T) =>
    slow ? new Promise<T>((resolve) => setImmediate(() => resolve(value))) : value;
  const writes: number[] = []; // the version of every record written
  const ids: string[] = [];
  let refused = 0;
  const shared: SessionStore = {
    ...inner,
    name: "shared",
    capabilities: { shared: true },
    get: (id) => later(inner.get(id) as SessionRecord | undefined),
    set(record, condition) {
      const written = inner.set(record, condition) as boolean;
      if (written) {
        writes.push(record.version);
        ids.push(record.id);
      } else refused++;
      return later(written);
    },
  };
  const namespace = `activity${++sequence}`;
  const managers = Array.from({ length: count }, () => {
    const sm = new SessionManager({ backend: shared, namespace, ...manager });
    open.push(sm);
    return sm;
  });
  await Promise.all(managers.map((sm) => sm.ready));
  return { managers, inner, writes, ids, refused: () => refused };
}

/** What a manager fired, in order. */
function record(sm: SessionManager<unknown>): string[] {
  const log: string[] = [];
  sm.onExpiringSoon((s) => log.push(`expiringSoon ${s.id}`));
  sm.onExpired((s) => log.push(`expired ${s.id}`));
  sm.on("error", (e) => log.push(`error ${e.message}`));
  return log;
}

/** `ms` of fake time in steps of `step`, the user active on `pages` at every step. */
async function active(pages: Page[], ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(step);
    for (const page of pages) page.act(t % 500 ? "pointermove" : "keydown");
    await drain();
  }
}

describe("trackActivity", () => {
  it.each([1, 5, 10])(
    "keeps a session alive in all of %i active tabs with one write per throttle window",
    async (count) => {
      // ttl 10 s, warnBefore 2 s: the default throttle is half of 8 s.
      const { managers, writes, inner } = await tabs(count, { warnBefore: "2s" });
      const pages = managers.map(() => new Page());
      const logs = managers.map(record);
      await managers[0]?.add("user", { ttl: "10s" });
      await drain();
      const stops: (() => void)[] = [];
      for (const [i, sm] of managers.entries()) {
        stops.push(await track(sm, "user", { target: pages[i] as Page }));
      }
      writes.length = 0;

      await active(pages, 40_000); // every tab active at once, every 250 ms, for 40 s
      // Extended at 4 s, 8 s, … 40 s: ten windows, ten writes between all the tabs.
      expect(writes).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(logs.flat()).toEqual([]); // nobody was warned
      for (const sm of managers) expect((await sm.get("user"))?.expiresAt).toBe(T0 + 50_000);

      // The user goes idle: every tab warns, then the session expires, nothing written meanwhile.
      await vi.advanceTimersByTimeAsync(8_000);
      await drain();
      for (const log of logs) expect(log).toEqual(["expiringSoon user"]);
      await vi.advanceTimersByTimeAsync(2_000);
      await drain();
      for (const log of logs) expect(log).toEqual(["expiringSoon user", "expired user"]);
      expect(writes).toHaveLength(10);

      // Activity after the expiry does not bring it back.
      await active(pages, 5_000);
      expect(writes).toHaveLength(10);
      expect(inner.get("user")).toBeUndefined();
      for (const stop of stops) stop();
    },
  );

  it("makes one write between two tabs active at the same moment, before either hears of the other", async () => {
    const { managers, writes, refused } = await tabs(2, { warnBefore: "0s", slow: true });
    const [a, b] = managers as [SessionManager<unknown>, SessionManager<unknown>];
    const [pa, pb] = [new Page(), new Page()];
    await a.add("user", { ttl: "10s" });
    await drain();
    await track(a, "user", { target: pa, throttle: "1s" });
    await track(b, "user", { target: pb, throttle: "1s" });
    writes.length = 0;
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      pa.act();
      pb.act(); // same task: b's copy is a window old, its conditional write loses and re-reads
      await drain();
    }
    expect(writes).toEqual([2, 3, 4, 5, 6]);
    expect(refused()).toBeGreaterThan(0);
  });

  it("uses the smaller of a minute and half of ttl − warnBefore by default", async () => {
    const { managers, ids } = await tabs(1, { warnBefore: "1m" });
    const sm = managers[0] as SessionManager<unknown>;
    const page = new Page();
    await sm.add("long", { ttl: "30m" }); // (30m − 1m) / 2 is more than a minute: a minute
    await sm.add("short", { ttl: "10m" }); // (10m − 1m) / 2 = 4.5 min: a minute
    await sm.add("brief", { ttl: "3m" }); // (3m − 1m) / 2 = 1 min
    await sm.add("tiny", { ttl: "40s" }); // warnBefore is longer: half the ttl, 20 s
    ids.length = 0;
    for (const id of ["long", "short", "brief", "tiny"]) await track(sm, id, { target: page });
    const at = async (ms: number) => {
      await vi.advanceTimersByTimeAsync(T0 + ms - Date.now());
      page.act();
      await drain();
      const count = (id: string) => ids.filter((written) => written === id).length;
      return ["long", "short", "brief", "tiny"].map(count);
    };
    expect(await at(19_999)).toEqual([0, 0, 0, 0]);
    expect(await at(20_000)).toEqual([0, 0, 0, 1]);
    expect(await at(59_999)).toEqual([0, 0, 0, 2]);
    expect(await at(60_000)).toEqual([1, 1, 1, 2]);
  });

  it("never revives a removed session, nor one expired and not swept yet; a new one with the id is kept alive", async () => {
    const { managers, writes, inner } = await tabs(2, { warnBefore: "0s" });
    const [a, b] = managers as [SessionManager<unknown>, SessionManager<unknown>];
    const page = new Page();
    await track(b, "user", { target: page, throttle: "1s" });
    await a.add("user", { ttl: "10s" });
    await drain();
    await b.remove("user");
    await drain();
    writes.length = 0;
    await active([page], 5_000);
    expect(writes).toEqual([]);
    expect(inner.get("user")).toBeUndefined();

    // Signed in again under the same id: activity counts again.
    await a.add("user", { ttl: "10s" });
    await drain();
    await active([page], 2_000);
    expect(writes.length).toBeGreaterThan(1);

    // Past its expiry (no timer has run: a frozen page), still in the store: left to expire.
    vi.setSystemTime(Date.now() + 60_000);
    const stored = inner.get("user");
    page.act();
    await drain();
    expect(inner.get("user")).toBe(stored);
  });

  it("never extends a session past its maxAge, and lets it expire there with a warning", async () => {
    const { managers, writes } = await tabs(1, { warnBefore: "2s" });
    const sm = managers[0] as SessionManager<unknown>;
    const log = record(sm);
    const page = new Page();
    const session = await sm.add("user", { ttl: "10s", maxAge: "15s" });
    await track(sm, "user", { target: page });
    writes.length = 0;
    await active([page], 20_000);
    // One touch at 4 s (to 14 s), then only a gain of 1 s was left: less than the throttle.
    expect(writes).toEqual([2]);
    expect((await sm.get("user")) ?? "gone").toBe("gone");
    expect(log).toEqual(["expiringSoon user", "expired user"]);
    expect(session.createdAt).toBe(T0);
  });

  it("takes the last window up to the cap when that gain is still a throttle or more", async () => {
    const { managers } = await tabs(1, { warnBefore: "0s" });
    const sm = managers[0] as SessionManager<unknown>;
    const page = new Page();
    await sm.add("user", { ttl: "10s", maxAge: "12s" });
    await track(sm, "user", { target: page, throttle: "2s" });
    await vi.advanceTimersByTimeAsync(5_000);
    page.act();
    await drain();
    expect((await sm.get("user"))?.expiresAt).toBe(T0 + 12_000); // capped, not T0 + 15 s
  });

  it("listens passively in the capture phase, and stop() removes every listener", async () => {
    const { managers, writes } = await tabs(1, { warnBefore: "0s" });
    const sm = managers[0] as SessionManager<unknown>;
    const page = new Page();
    await sm.add("user", { ttl: "10s" });
    const stop = await track(sm, "user", { target: page, throttle: "1s" });
    expect([...page.listening.keys()].sort()).toEqual(
      ["keydown", "pointerdown", "pointermove", "touchstart", "visibilitychange", "wheel"].sort(),
    );
    for (const options of page.listening.values()) {
      expect(options).toEqual({ passive: true, capture: true });
    }
    stop();
    stop(); // twice is fine
    expect(page.listening.size).toBe(0);
    // Stopped before its listeners are on: they never are.
    const early = new Page();
    sm.trackActivity("user", { target: early })();
    await track(sm, "user", { target: new Page() }); // by then the first one has loaded too
    await drain();
    expect(early.adds).toBe(0);
    writes.length = 0;
    await active([page], 3_000);
    expect(writes).toEqual([]);
  });

  it("counts the events it is given instead, and a page shown but not one hidden", async () => {
    const { managers, writes } = await tabs(1, { warnBefore: "0s" });
    const sm = managers[0] as SessionManager<unknown>;
    const page = new Page() as Page & { visibilityState?: string };
    await sm.add("user", { ttl: "10s" });
    await track(sm, "user", {
      target: page,
      throttle: "1s",
      events: ["click", "visibilitychange"],
    });
    expect([...page.listening.keys()]).toEqual(["click", "visibilitychange"]);
    writes.length = 0;
    await vi.advanceTimersByTimeAsync(2_000);
    page.act("keydown");
    await drain();
    expect(writes).toEqual([]);
    page.visibilityState = "hidden";
    page.act("visibilitychange");
    await drain();
    expect(writes).toEqual([]);
    page.visibilityState = "visible";
    page.act("visibilitychange");
    await drain();
    expect(writes).toEqual([2]);
    await vi.advanceTimersByTimeAsync(2_000);
    page.act("click");
    await drain();
    expect(writes).toEqual([2, 3]);
  });

  it("follows a rotation to the new id", async () => {
    const { managers } = await tabs(2, { warnBefore: "0s" });
    const [a, b] = managers as [SessionManager<unknown>, SessionManager<unknown>];
    const page = new Page();
    await a.add("old", { ttl: "10s" });
    await drain();
    await track(b, "old", { target: page, throttle: "1s" });
    const rotated = await a.rotate("old");
    await drain();
    await active([page], 3_000);
    expect((await a.get(rotated.id))?.version).toBeGreaterThan(rotated.version);
    expect(await a.get("old")).toBeUndefined();
  });

  it("reports a failed touch on error, never as an unhandled rejection", async () => {
    const inner = memoryStore();
    let failing = false;
    const store: SessionStore = {
      ...inner,
      set(record, condition) {
        if (failing) throw new Error("disk full");
        return inner.set(record, condition);
      },
    };
    const sm = new SessionManager({ backend: store, warnBefore: 0 });
    open.push(sm);
    const errors: Error[] = [];
    sm.on("error", (error) => errors.push(error));
    const page = new Page();
    await sm.add("user", { ttl: "10s" });
    await track(sm, "user", { target: page, throttle: "1s" });
    failing = true;
    await vi.advanceTimersByTimeAsync(2_000);
    page.act();
    await drain();
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("disk full")]);
    failing = false;
    page.act(); // the next activity tries again
    await drain();
    expect((await sm.get("user"))?.version).toBe(2);
  });

  it("sends one touch per window to the server with backend remote", async () => {
    const { server, fetch } = inProcessServer();
    const network = new Network(fetch);
    const sm = new SessionManager({
      backend: remoteStore({
        url: IN_PROCESS_URL,
        token: await tokenFor("ada"),
        fetch: network.fetch,
        timeout: "1h", // the fake clock moves on while the server checks the token for real
        live: false, // requests are counted below: polling only
      }),
      warnBefore: "2s",
    });
    open.push(sm);
    const errors = record(sm);
    const page = new Page();
    await sm.add("user", { ttl: "10s" });
    await track(sm, "user", { target: page });
    await active([page], 20_000);
    // Added, then a touch at 4, 8, 12, 16 and 20 s.
    // Every write the server answered, with its status, shown if this fails.
    const answered = JSON.stringify(network.writes);
    expect(network.taken("user"), answered).toEqual([
      "PUT@*",
      'PUT@"1"',
      'PUT@"2"',
      'PUT@"3"',
      'PUT@"4"',
      'PUT@"5"',
    ]);
    expect(errors).toEqual([]);
    // 80 events: only those of a new window read the server (a list, the writes, a read each).
    expect(network.requests).toBeLessThan(20);
    await sm.close();
    await server.close();
  });

  it("sends one touch per window to the server from two tabs on a replica", async () => {
    const { server, fetch } = inProcessServer();
    const network = new Network(fetch);
    const shared: SessionStore = { ...memoryStore(), capabilities: { shared: true } };
    const token = await tokenFor("ada");
    const stores = [0, 1].map(() =>
      // The clock is fake and moves on while the in-process server checks the token on real
      // threads: no request may time out in fake time, whatever the machine's load.
      replicaStore(shared, {
        url: IN_PROCESS_URL,
        token,
        fetch: network.fetch,
        namespace: "rep",
        timeout: "1h",
      }),
    );
    const [a, b] = stores.map((backend) => {
      const sm = new SessionManager({ backend, namespace: "rep", warnBefore: "2s" });
      open.push(sm);
      return sm;
    }) as [SessionManager<unknown>, SessionManager<unknown>];
    const logs = [a, b].map(record);
    await Promise.all([a.ready, b.ready]);
    const pages = [new Page(), new Page()];
    await a.add("user", { ttl: "10s" });
    await drain();
    await track(a, "user", { target: pages[0] as Page });
    await track(b, "user", { target: pages[1] as Page });
    // Five throttle windows, each one's writes on the server before the next begins (a push
    // still in flight would carry two touches at once, on a machine slow enough).
    for (let window = 0; window < 5; window++) {
      await active(pages, 4000);
      await Promise.all(stores.map((store) => store.sync()));
    }
    // Added, then a touch at 4, 8, 12, 16 and 20 s: both tabs active, one write per window.
    // Every write the server answered, with its status, shown if this fails.
    const answered = JSON.stringify(network.writes);
    expect(network.taken("user"), answered).toEqual([
      "PUT@*",
      'PUT@"1"',
      'PUT@"2"',
      'PUT@"3"',
      'PUT@"4"',
      'PUT@"5"',
    ]);
    expect(logs.flat()).toEqual([]);
    await server.close();
  });

  it("does nothing in Node without a target", async () => {
    const { managers, writes } = await tabs(1);
    const sm = managers[0] as SessionManager<unknown>;
    await sm.add("user");
    const stop = sm.trackActivity("user");
    expect(stop).toBeTypeOf("function");
    stop();
    expect(writes).toEqual([1]);
  });

  it("rejects bad options with typed errors, and any call after close", async () => {
    const { managers } = await tabs(1);
    const sm = managers[0] as SessionManager<unknown>;
    const target = new Page();
    for (const throttle of [0, -1, Number.NaN, "soon", "1 week"]) {
      // @ts-expect-error a throttle that is not a Duration, on purpose
      expect(() => sm.trackActivity("user", { target, throttle })).toThrow(InvalidTtlError);
    }
    expect(() => sm.trackActivity("user", { target, throttle: -5 })).toThrow(
      "throttle must be a positive duration, got -5",
    );
    // @ts-expect-error events must be an array
    expect(() => sm.trackActivity("user", { target, events: "keydown" })).toThrow(TypeError);
    expect(() => sm.trackActivity("user", { target, events: [""] })).toThrow(TypeError);
    // @ts-expect-error a target must be an EventTarget
    expect(() => sm.trackActivity("user", { target: {} })).toThrow(TypeError);
    expect(() => sm.trackActivity("", { target })).toThrow(InvalidSessionIdError);
    expect(target.listening.size).toBe(0);
    await sm.close();
    const closed = (() => {
      try {
        sm.trackActivity("user", { target });
      } catch (error) {
        return error;
      }
    })() as SessionError;
    expect(closed).toBeInstanceOf(SessionError);
    expect(closed.code).toBe("CLOSED");
  });

  it("stops listening once the manager is closed", async () => {
    const { managers } = await tabs(1, { warnBefore: "0s" });
    const sm = managers[0] as SessionManager<unknown>;
    const page = new Page();
    const seen: Session[] = [];
    await sm.add("user", { ttl: "10s" });
    sm.on("touched", (s) => seen.push(s));
    await track(sm, "user", { target: page, throttle: "1s" });
    await sm.close();
    await vi.advanceTimersByTimeAsync(2_000);
    page.act();
    await drain();
    expect(page.listening.size).toBe(0);
    expect(seen).toEqual([]);
  });
});
