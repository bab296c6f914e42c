// Two managers of one namespace in a real Chromium page stand in for two tabs: BroadcastChannel
// reaches every other channel of the name, same page included, and Web Locks are per origin.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManager } from "../src/index.ts";

const run = crypto.randomUUID().slice(0, 8);
const managers: SessionManager<unknown>[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const sm of managers.splice(0)) await sm.close();
});

describe("tabs in a browser", () => {
  it("one sweeps under a Web Lock, each warns and expires once, no listener runs inside the lock", async () => {
    const namespace = `${run}-sweep`;
    const key = `sessionmanager:${namespace}:s`;
    const removals = vi.spyOn(Storage.prototype, "removeItem");
    // Lock callbacks of this page still running (granted, their promise not settled yet). A
    // listener checks this at once when called: after an await, another "tab" of the same page
    // may hold the lock by then, which is no fault of the manager that called the listener.
    let running = 0;
    const request = navigator.locks.request.bind(navigator.locks) as (
      name: string,
      options: LockOptions,
      callback: LockGrantedCallback<unknown>,
    ) => Promise<unknown>;
    const requests = vi.spyOn(navigator.locks, "request").mockImplementation(((
      name: string,
      options: LockOptions,
      callback: LockGrantedCallback<unknown>,
    ) =>
      request(name, options, async (lock) => {
        if (!lock) return callback(lock);
        running++;
        try {
          return await callback(lock);
        } finally {
          running--;
        }
      })) as typeof navigator.locks.request);
    const [a, b] = [0, 1].map(() => {
      const sm = new SessionManager({ backend: "localStorage", namespace, warnBefore: 100 });
      managers.push(sm);
      return sm;
    }) as [SessionManager, SessionManager];
    await Promise.all([a.ready, b.ready]);
    const log: string[] = [];
    const heldDuringListeners: string[] = [];
    for (const [name, sm] of [
      ["a", a],
      ["b", b],
    ] as const) {
      sm.onExpiringSoon(() => log.push(`${name} warn`));
      sm.onExpired(() => {
        log.push(`${name} expired`);
        if (running > 0) heldDuringListeners.push(`${name} expired`);
      });
    }
    const expired = Promise.all(
      [a, b].map((sm) => new Promise((resolve) => sm.onExpired(resolve))),
    );
    await a.add("s", { ttl: 300 });
    await expired;
    await new Promise((r) => setTimeout(r, 1500)); // a busy-lock retry would show by now
    expect(log.filter((l) => l.startsWith("a")).sort()).toEqual(["a expired", "a warn"]);
    expect(log.filter((l) => l.startsWith("b")).sort()).toEqual(["b expired", "b warn"]);
    expect(removals.mock.calls.filter(([k]) => k === key)).toHaveLength(1);
    expect(heldDuringListeners).toEqual([]);
    expect(localStorage.getItem(key)).toBeNull();
    const sweeps = requests.mock.calls.filter(
      ([name]) => name === `sessionmanager:${namespace}:sweep`,
    );
    expect(sweeps.length).toBeGreaterThanOrEqual(1);
  });

  it("a rotation in one tab is one rotated in the other, on localStorage, with encryption", async () => {
    const namespace = `${run}-rotate`;
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const [a, b] = [0, 1].map(() => {
      const sm = new SessionManager({ backend: "localStorage", namespace, encryption: { key } });
      managers.push(sm);
      return sm;
    }) as [SessionManager, SessionManager];
    await Promise.all([a.ready, b.ready]);
    const log: string[] = [];
    b.on("added", (s) => log.push(`added ${s.id}`));
    b.on("removed", (s) => log.push(`removed ${s.id}`));
    const rotated = new Promise<[unknown, string]>((resolve) =>
      b.on("rotated", (...args) => resolve(args)),
    );
    await a.add("anon", { data: { cart: 1 } });
    const moved = await a.rotate("anon");
    const [seen, previousId] = await rotated;
    expect(seen).toEqual(moved);
    expect(previousId).toBe("anon");
    expect(log).toEqual(["added anon"]);
    expect(localStorage.getItem(`sessionmanager:${namespace}:anon`)).toBeNull();
    expect(await b.get("anon")).toBeUndefined();
    expect(await b.get(moved.id)).toEqual(moved);
  });
});
