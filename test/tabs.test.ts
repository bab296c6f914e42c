// Two managers on one shared store and namespace, as two tabs of one origin: Node has a real
// BroadcastChannel, so these run the same messages a browser does (two real pages are tested in
// Chromium).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Session, SessionManager } from "../src/index.ts";
import { memoryStore } from "../src/stores/memory.ts";
import type { SessionStore } from "../src/stores/types.ts";
import { OUTBOX_ID } from "../src/sync/outbox.ts";
import { type ReplicaStore, replicaStore } from "../src/sync/replica.ts";
import {
  IN_PROCESS_URL,
  inProcessServer,
  Network,
  tokenFor,
  until,
} from "./helpers/sync-server.ts";

const open: SessionManager<unknown>[] = [];
afterEach(async () => {
  for (const sm of open.splice(0)) await sm.close();
});

let sequence = 0;

/** Two "tabs": managers on one store that says it is shared, like localStorage. */
async function twoTabs(options: { warnBefore?: number; namespace?: string } = {}) {
  const inner = memoryStore();
  let deletes = 0;
  const shared: SessionStore = {
    ...inner,
    name: "shared",
    capabilities: { shared: true },
    delete(id, condition) {
      const deleted = inner.delete(id, condition);
      if (deleted) deletes++;
      return deleted;
    },
  };
  const namespace = options.namespace ?? `tabs${++sequence}`;
  const make = () => {
    const sm = new SessionManager({
      backend: shared,
      namespace,
      warnBefore: options.warnBefore ?? 0,
    });
    open.push(sm);
    return sm;
  };
  const a = make();
  const b = make();
  await Promise.all([a.ready, b.ready]);
  return { a, b, inner, deletes: () => deletes, namespace };
}

/** Resolves with the arguments of the next `event` on `sm`. */
function next(
  sm: SessionManager<unknown>,
  event: "added" | "touched" | "updated" | "removed" | "expired",
) {
  return new Promise<unknown[]>((resolve) => {
    const off = sm.on(event, (...args: unknown[]) => {
      off();
      resolve(args);
    });
  });
}

/**
 * Two tabs whose timers both wake after a session's expiry (as throttled background tabs' do):
 * each must still warn once, then fire `expired` once, and nothing more within `settleMs`.
 */
async function bothWakeLate(settleMs = 0) {
  const { a, b } = await twoTabs({ warnBefore: 50 });
  const seen: string[] = [];
  for (const [tab, sm] of [
    ["a", a],
    ["b", b],
  ] as const) {
    sm.on("expiringSoon", () => seen.push(`${tab}:expiringSoon`));
    sm.on("expired", () => seen.push(`${tab}:expired`));
  }
  const expired = Promise.all([next(a, "expired"), next(b, "expired")]);
  await a.add("s", { ttl: 100 });
  await new Promise((resolve) => setTimeout(resolve, 10)); // b hears of it
  // Both timers wake after expiresAt: the event loop is held past it.
  const until = Date.now() + 150;
  while (Date.now() < until);
  await expired;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  for (const tab of ["a", "b"]) {
    expect(seen.filter((e) => e.startsWith(tab))).toEqual([
      `${tab}:expiringSoon`,
      `${tab}:expired`,
    ]);
  }
}

describe("tabs in step", () => {
  it("a change in one tab fires the same event in the other, with the session as it is now", async () => {
    const { a, b } = await twoTabs();
    const added = next(b, "added");
    const session = await a.add("user123", { data: { name: "Ada" } });
    const [seen] = (await added) as [Session];
    expect(seen).toEqual(session);
    expect(Object.isFrozen(seen)).toBe(true);
    expect(Object.isFrozen(seen.data)).toBe(true);

    const updated = next(b, "updated");
    await a.update("user123", { name: "Grace" });
    const [now, before] = (await updated) as [Session, Session];
    expect(now.data).toEqual({ name: "Grace" });
    expect(before.data).toEqual({ name: "Ada" });
  });

  it("a logout in one tab is a removed in all of them", async () => {
    const { a, b } = await twoTabs();
    await a.add("user123");
    const heard = next(a, "removed");
    await b.remove("user123");
    expect(((await heard) as [Session])[0].id).toBe("user123");
    expect(await a.has("user123")).toBe(false);
  });

  it("clear in one tab removes every session in the other", async () => {
    const { a, b } = await twoTabs();
    await a.add("x");
    await a.add("y");
    const ids: string[] = [];
    const both = new Promise<void>((resolve) => {
      b.on("removed", (s) => {
        ids.push(s.id);
        if (ids.length === 2) resolve();
      });
    });
    await a.clear();
    await both;
    expect(ids.sort()).toEqual(["x", "y"]);
  });

  it("a touch in one tab moves the pending warning in the other", async () => {
    const { a, b } = await twoTabs({ warnBefore: 500 });
    const warnedB = vi.fn();
    b.onExpiringSoon(warnedB);
    await a.add("s", { ttl: 1000 }); // b would warn at 500 ms
    const touched = next(b, "touched");
    await a.touch("s", "1h"); // stay signed in, from tab a
    await touched;
    await new Promise((r) => setTimeout(r, 700));
    expect(warnedB).not.toHaveBeenCalled();
    expect(await b.has("s")).toBe(true);
  });

  it("a rotation in one tab is one rotated in the other, which follows the new id and never expires the old", async () => {
    const { a, b } = await twoTabs({ warnBefore: 100 });
    const log: string[] = [];
    for (const [name, sm] of [
      ["a", a],
      ["b", b],
    ] as const) {
      for (const event of ["added", "removed", "expiringSoon", "expired"] as const) {
        sm.on(event, (s: { id: string }) => log.push(`${name} ${event} ${s.id}`));
      }
      sm.on("rotated", (s, previousId) => log.push(`${name} rotated ${previousId} to ${s.id}`));
    }
    await a.add("anon", { ttl: 300, data: { cart: 1 } });
    await until(() => log.includes("b added anon"));
    const rotated = new Promise<[unknown, string]>((resolve) =>
      b.on("rotated", (...args) => resolve(args)),
    );
    const moved = await a.rotate("anon");
    const [seen, previousId] = await rotated;
    expect(seen).toEqual(moved);
    expect(previousId).toBe("anon");
    expect(await b.get("anon")).toBeUndefined();
    expect(await b.get(moved.id)).toEqual(moved);
    await Promise.all([next(a, "expired"), next(b, "expired")]);
    await new Promise((r) => setTimeout(r, 50)); // any late event of the old id would show now
    const id = moved.id;
    for (const tab of ["a", "b"]) {
      expect(log.filter((l) => l.startsWith(`${tab} `))).toEqual([
        `${tab} added anon`,
        `${tab} rotated anon to ${id}`,
        `${tab} expiringSoon ${id}`,
        `${tab} expired ${id}`,
      ]);
    }
  });

  it("each tab warns once and hears expired once, while only one deletes from the store", async () => {
    const { a, b, inner, deletes } = await twoTabs({ warnBefore: 100 });
    const log: string[] = [];
    for (const [name, sm] of [
      ["a", a],
      ["b", b],
    ] as const) {
      sm.onExpiringSoon((s) => log.push(`${name} warn ${s.id}`));
      sm.onExpired((s) => log.push(`${name} expired ${s.id}`));
    }
    const bothExpired = Promise.all([next(a, "expired"), next(b, "expired")]);
    await a.add("s", { ttl: 250 });
    await bothExpired;
    await new Promise((r) => setTimeout(r, 50)); // any late duplicate would show now
    expect(log.filter((l) => l.startsWith("a ")).sort()).toEqual(["a expired s", "a warn s"]);
    expect(log.filter((l) => l.startsWith("b ")).sort()).toEqual(["b expired s", "b warn s"]);
    expect(log.indexOf("a warn s")).toBeLessThan(log.indexOf("a expired s"));
    expect(log.indexOf("b warn s")).toBeLessThan(log.indexOf("b expired s"));
    expect(deletes()).toBe(1);
    expect(inner.get("s")).toBeUndefined();
  });

  it("changes made in one task reach the other tab in one message, every one of them", async () => {
    const { a, b } = await twoTabs();
    const heard: string[] = [];
    const all = new Promise<void>((resolve) => {
      b.on("added", (s) => {
        heard.push(s.id);
        if (heard.length === 100) resolve();
      });
    });
    const posted = vi.spyOn(BroadcastChannel.prototype, "postMessage");
    await Promise.all(Array.from({ length: 100 }, (_, i) => a.add(`s${i}`)));
    await all;
    expect(heard).toEqual(Array.from({ length: 100 }, (_, i) => `s${i}`));
    expect(posted.mock.calls.length).toBeLessThanOrEqual(2);
    posted.mockRestore();
  });

  it("a tab that finds the sweep lock busy tries again shortly, and the session still expires", async () => {
    let busy = 2; // both tabs find it busy the first time
    const request = vi.fn(
      async (_name: string, _options: unknown, fn: (lock: object | null) => unknown) =>
        fn(busy-- > 0 ? null : {}),
    );
    vi.stubGlobal("navigator", { locks: { request } });
    try {
      const { a, inner } = await twoTabs();
      const expired = next(a, "expired");
      const start = Date.now();
      await a.add("s", { ttl: 100 });
      await expired;
      expect(Date.now() - start).toBeGreaterThanOrEqual(1000); // one retry after a busy lock
      expect(String(request.mock.calls[0]?.[0])).toMatch(/^sessionmanager:tabs\d+:sweep$/);
      expect(inner.get("s")).toBeUndefined();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a tab whose warning timer wakes after the expiry, with the sweep lock busy, still warns before expired", async () => {
    let busy = 2; // both tabs find the lock busy the first time: the other tab "is sweeping"
    const request = async (_n: string, _o: unknown, fn: (lock: object | null) => unknown) =>
      fn(busy-- > 0 ? null : {});
    vi.stubGlobal("navigator", { locks: { request } });
    try {
      await bothWakeLate();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a tab whose busy-lock answer comes after the other tab's expired warns once, before it", async () => {
    // Firefox: the lock request crosses processes, and the sweeping window's `expired` message
    // can arrive before this window hears that the lock was busy. The message warned and fired
    // `expired` here; the late answer must not warn again.
    let held = false;
    const request = async (_n: string, _o: unknown, fn: (lock: object | null) => unknown) => {
      if (held) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return fn(null);
      }
      held = true;
      await new Promise((resolve) => setTimeout(resolve, 20)); // granted after the other asked
      try {
        return await fn({});
      } finally {
        held = false;
      }
    };
    vi.stubGlobal("navigator", { locks: { request } });
    try {
      await bothWakeLate(100); // the busy answer came 50 ms after the lock was asked for
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("a tab whose late timer finds the session already swept by the other still warns before expired", async () => {
    // Both timers wake after expiresAt (throttled background tabs, or windows that slept): the
    // first tab deletes the session, and the second reads it gone before that tab's `expired`
    // message arrives. The warning the second tab owes must survive until the message.
    await bothWakeLate();
  });

  it("a tab whose storage has not caught up with the other's delete still fires expired once", async () => {
    // Firefox runs windows in separate processes whose copies of localStorage catch up
    // asynchronously: a window can still read (and delete) a session the other window already
    // swept, and hear that window's `expired` as well as its own. Each tab here has its own
    // view: writes reach both, a delete only the tab that made it.
    const views = [memoryStore(), memoryStore()] as const;
    const tab = (own: SessionStore, other: SessionStore): SessionStore => ({
      ...own,
      name: "lagging",
      capabilities: { shared: true, fallback: true },
      set(record, condition) {
        const done = own.set(record, condition);
        if (done) other.set(record);
        return done;
      },
    });
    const namespace = `tabs${++sequence}`;
    const [a, b] = [tab(views[0], views[1]), tab(views[1], views[0])].map((backend) => {
      const sm = new SessionManager({ backend, namespace, warnBefore: 50 });
      open.push(sm);
      return sm;
    }) as [SessionManager, SessionManager];
    await Promise.all([a.ready, b.ready]);
    const seen: string[] = [];
    for (const [name, sm] of [
      ["a", a],
      ["b", b],
    ] as const) {
      sm.onExpiringSoon(() => seen.push(`${name} warn`));
      sm.onExpired(() => seen.push(`${name} expired`));
    }
    const bothExpired = Promise.all([next(a, "expired"), next(b, "expired")]);
    await a.add("s", { ttl: 150 });
    await bothExpired;
    await new Promise((r) => setTimeout(r, 100)); // any late duplicate would show now
    expect(seen.filter((l) => l.startsWith("a "))).toEqual(["a warn", "a expired"]);
    expect(seen.filter((l) => l.startsWith("b "))).toEqual(["b warn", "b expired"]);
  });

  it("ignores other namespaces and messages it cannot read", async () => {
    const { a, b, namespace } = await twoTabs();
    const other = new SessionManager({
      backend: { ...memoryStore(), capabilities: { shared: true } },
      namespace: "elsewhere",
    });
    open.push(other);
    const heardOther = vi.fn();
    other.on("added", heardOther);
    const errors: Error[] = [];
    b.on("error", (e) => errors.push(e));
    const stranger = new BroadcastChannel(`sessionmanager:${namespace}`);
    stranger.postMessage([{ event: "added", records: [{ v: 99, id: "x" }] }, "hello"]);
    stranger.postMessage("not a batch");
    stranger.close();
    const added = next(b, "added");
    await a.add("z");
    await added;
    expect(heardOther).not.toHaveBeenCalled();
    expect(errors.map((e) => e.message)).toEqual([
      "skipped the stored record from another tab (added): its format is 99, this version reads 1",
    ]);
  });
});

// Tabs share one local store (IndexedDB, localStorage): their replicas share its outbox, and Web
// Locks let one tab at a time push and pull. Node has no navigator.locks: a small one stands in.
type Callback = (lock: Lock | null) => unknown;

/** Exclusive locks by name, with `ifAvailable`: what the tests need of `navigator.locks`. */
class Locks {
  private readonly held = new Map<string, Promise<void>>();
  requests: string[] = [];

  async request(name: string, options: LockOptions | Callback, callback?: Callback) {
    const [opts, fn] =
      typeof options === "function" ? [{}, options] : [options, callback as Callback];
    this.requests.push(name);
    if (opts.ifAvailable && this.held.has(name)) return fn(null);
    while (this.held.has(name)) await this.held.get(name);
    let release = () => {};
    this.held.set(name, new Promise((resolve) => (release = resolve)));
    try {
      return await fn({ name, mode: "exclusive" });
    } finally {
      this.held.delete(name);
      release();
    }
  }
}

describe("replicas of tabs sharing one store", () => {
  const locks = new Locks();
  let original: PropertyDescriptor | undefined;
  beforeAll(() => {
    original = Object.getOwnPropertyDescriptor(globalThis, "navigator");
    Object.defineProperty(globalThis, "navigator", { value: { locks }, configurable: true });
  });
  afterAll(() => {
    if (original) Object.defineProperty(globalThis, "navigator", original);
    else Reflect.deleteProperty(globalThis, "navigator");
  });

  it("lets tabs that share a store queue writes together and push them once, one tab at a time", async () => {
    const { server, fetch, store: serverStore } = inProcessServer();
    const shared: SessionStore = { ...memoryStore(), capabilities: { shared: true } };
    const token = await tokenFor("tabs");
    const networks: [Network, Network] = [new Network(fetch), new Network(fetch)];
    const tabs = networks.map((network) => {
      const store = replicaStore(shared, {
        url: IN_PROCESS_URL,
        token,
        fetch: network.fetch,
        namespace: "app",
      });
      const sm = new SessionManager<unknown>({ backend: store, namespace: "app", warnBefore: 0 });
      const errors: Error[] = [];
      sm.on("error", (error) => errors.push(error));
      return { sm, store: store as ReplicaStore, errors };
    });
    const [one, two] = tabs as [(typeof tabs)[0], (typeof tabs)[0]];
    for (const network of networks) network.online = false;
    const ids = ["a", "b", "c", "d", "e"];
    // Both tabs write at once, into one store and one outbox.
    await Promise.all(ids.map((id) => one.sm.add(id, { data: "one" })));
    await Promise.all([
      ...ids.map((id) => two.sm.update(id, "two")),
      ...ids.map((id) => two.sm.add(`${id}2`, { data: "two" })),
    ]);
    for (const network of networks) network.online = true;
    await Promise.all([one.store.sync(), two.store.sync()]); // one of them finds the lock taken
    await until(async () => {
      const outbox = await shared.get(OUTBOX_ID);
      return (outbox?.data as { ops?: unknown[] } | undefined)?.ops?.length === 0;
    });
    const taken = (id: string) => [...networks[0].taken(id), ...networks[1].taken(id)];
    for (const id of ids) {
      expect(taken(id)).toEqual(["PUT@*", 'PUT@"1"']);
      expect(await serverStore.get(`tabs/${id}`)).toMatchObject({ data: "two", version: 2 });
      expect(taken(`${id}2`)).toEqual(["PUT@*"]);
    }
    expect(locks.requests).toContain("sessionmanager:app:sync");
    expect(locks.requests).toContain("sessionmanager:app:outbox");
    expect([...one.errors, ...two.errors]).toEqual([]);
    for (const tab of tabs) await tab.sm.close();
    await server.close();
  });
});
