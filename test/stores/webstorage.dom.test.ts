import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, SessionManager } from "../../src/index.ts";
import { RECORD_FORMAT } from "../../src/stores/record.ts";
import { localStorageStore, sessionStorageStore } from "../../src/stores/webstorage.ts";
import { errorsOf } from "../helpers/events.ts";
import { rec } from "../helpers/records.ts";
import { testStore } from "./conformance.ts";

// A store's twin is another store object on the same Storage, as a second manager of the page.
const onLocal = (namespace: string) => localStorageStore({ namespace });
testStore({ name: "localStorage (happy-dom)", create: onLocal, twin: onLocal });
const onSession = (namespace: string) => sessionStorageStore({ namespace });
testStore({ name: "sessionStorage (happy-dom)", create: onSession, twin: onSession });

afterEach(() => {
  localStorage.clear();
  sessionStorage.clear();
});

describe("web storage stores", () => {
  it("keep sessions across a reload (a second manager on the same storage)", async () => {
    const first = new SessionManager({ backend: "localStorage", namespace: "app" });
    const added = await first.add("user123", { data: { name: "Ada" }, ttl: "1h" });
    await first.close();
    const second = new SessionManager({ backend: "localStorage", namespace: "app" });
    await second.ready;
    expect(second.status).toBe("ready");
    expect(await second.get("user123")).toEqual(added);
    expect(Object.isFrozen((await second.get("user123"))?.data)).toBe(true);
    await second.close();
  });

  it("sessionStorage is chosen by name too", async () => {
    const sm = new SessionManager({ backend: "sessionStorage", namespace: "tab" });
    await sm.add("a");
    expect(Object.keys(sessionStorage)).toEqual(["sessionmanager:tab:a"]);
    expect(localStorage.length).toBe(0);
  });

  it("never read, change or delete other keys, even with clear", async () => {
    localStorage.setItem("theme", "dark");
    localStorage.setItem("sessionmanager:other:a", "{}");
    const sm = new SessionManager({ backend: "localStorage", namespace: "app" });
    await sm.add("a");
    await sm.clear();
    expect(localStorage.getItem("theme")).toBe("dark");
    expect(localStorage.getItem("sessionmanager:other:a")).toBe("{}");
    expect(localStorage.length).toBe(2);
  });

  it("skip a corrupted record with an error event, and leave it in place", async () => {
    localStorage.setItem("sessionmanager:app:broken", "{not json");
    const sm = new SessionManager({ backend: "localStorage", namespace: "app" });
    const errors = errorsOf(sm);
    await sm.add("good");
    await sm.ready;
    expect((await sm.list()).map((s) => s.id)).toEqual(["good"]);
    expect(await sm.get("broken")).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(BackendError);
    expect(errors[0]?.message).toMatch(
      /^skipped the stored record localStorage sessionmanager:app:brok… ?: it is not JSON$/,
    );
    await sm.clear();
    await sm.purgeExpired();
    expect(localStorage.getItem("sessionmanager:app:broken")).toBe("{not json");
  });

  it("skip a record of another format version, never deleting or overwriting it", async () => {
    const future = JSON.stringify({
      v: RECORD_FORMAT + 1,
      id: "a",
      payload: "from a newer version",
    });
    localStorage.setItem("sessionmanager:app:a", future);
    const sm = new SessionManager({ backend: "localStorage", namespace: "app" });
    const errors = errorsOf(sm);
    expect(await sm.get("a")).toBeUndefined();
    expect(errors[0]?.message).toContain(
      `its format is ${RECORD_FORMAT + 1}, this version reads ${RECORD_FORMAT}`,
    );
    await expect(sm.add("a")).rejects.toBeInstanceOf(Error);
    await sm.clear();
    expect(localStorage.getItem("sessionmanager:app:a")).toBe(future);
  });

  it("fall back to memory when storage is blocked, and say so", async () => {
    const blocked = {
      get length(): number {
        throw new DOMException("The operation is insecure.", "SecurityError");
      },
      setItem() {
        throw new DOMException("The operation is insecure.", "SecurityError");
      },
    } as unknown as Storage;
    const sm = new SessionManager({ backend: localStorageStore({ storage: blocked }) });
    const reasons: Error[] = [];
    sm.on("degraded", (reason) => reasons.push(reason));
    expect(sm.status).toBe("loading");
    await sm.ready;
    expect(sm.status).toBe("degraded");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(BackendError);
    expect(reasons[0]?.message).toBe("localStorage store failed: The operation is insecure.");
    const session = await sm.add("a", { data: 1 });
    expect(await sm.get("a")).toEqual(session);
  });

  it("fall back to memory when the first write is refused (private mode quota 0)", async () => {
    const full = Object.assign(Object.create(Storage.prototype), {
      setItem() {
        throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      },
    }) as Storage;
    const sm = new SessionManager({ backend: localStorageStore({ storage: full }) });
    await sm.ready;
    expect(sm.status).toBe("degraded");
    await sm.add("a");
    expect(await sm.has("a")).toBe(true);
  });

  it("a write refused later (quota) rejects with BackendError and loses nothing", async () => {
    let refuse = false;
    const storage = window.localStorage;
    const flaky = new Proxy(storage, {
      get(target, property) {
        if (property === "setItem") {
          return (key: string, value: string) => {
            if (refuse)
              throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
            target.setItem(key, value);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const sm = new SessionManager({
      backend: localStorageStore({ storage: flaky, namespace: "q" }),
    });
    const kept = await sm.add("kept", { data: { n: 1 } });
    refuse = true;
    await expect(sm.add("new")).rejects.toBeInstanceOf(BackendError);
    await expect(sm.update("kept", { n: 2 })).rejects.toMatchObject({
      code: "BACKEND_UNAVAILABLE",
    });
    refuse = false;
    expect(await sm.get("kept")).toEqual(kept);
    expect(await sm.has("new")).toBe(false);
  });

  it("with encryption, what localStorage holds has no plaintext of the data", async () => {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const sm = new SessionManager({
      backend: "localStorage",
      namespace: "sealed",
      encryption: { key },
    });
    await sm.add("user123", { data: { email: "ada@example.com", card: "4242 4242" } });
    const raw = Object.values({ ...localStorage }).join("\n");
    expect(raw).toContain('"encrypted":true');
    expect(raw).not.toContain("ada@example.com");
    expect(raw).not.toContain("4242");
    expect((await sm.get("user123"))?.data).toEqual({
      email: "ada@example.com",
      card: "4242 4242",
    });
  });
});

// Issue 11, finding 9: `shop`'s keys (`sessionmanager:shop:<id>`) were a prefix of `shop:eu`'s.
describe("web storage namespaces", () => {
  it("that extend each other with ':' never see, list or clear each other's sessions", async () => {
    const shop = new SessionManager({ backend: "localStorage", namespace: "shop" });
    const eu = new SessionManager({ backend: "localStorage", namespace: "shop:eu" });
    const alice = await eu.add("alice", { data: { eu: true } });
    const bob = await shop.add("bob");
    expect(await shop.get("eu:alice")).toBeUndefined();
    expect(await shop.has("eu:alice")).toBe(false);
    expect(await shop.list()).toEqual([bob]);
    expect(await eu.list()).toEqual([alice]);
    await shop.clear();
    expect(await eu.get("alice")).toEqual(alice);
    await eu.clear();
    expect(await shop.list()).toEqual([]);
    await eu.add("alice");
    await shop.add("eu:alice");
    await eu.clear();
    expect((await shop.list()).map((s) => s.id)).toEqual(["eu:alice"]);
    await shop.close();
    await eu.close();
  });

  it("percent-encode '%' and ':' in the namespace part of their keys", async () => {
    const sm = new SessionManager({ backend: "localStorage", namespace: "shop:eu%" });
    await sm.add("x:y");
    expect(Object.keys(localStorage)).toEqual(["sessionmanager:shop%3Aeu%25:x:y"]);
    await sm.close();
  });

  it("keep any two namespaces apart, whatever characters they hold", async () => {
    const unit = fc.constantFrom("a", ":", "%", "3", "A");
    const name = fc.string({ unit, maxLength: 5 });
    const id = fc.string({ unit, minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(name, name, id, id, async (one, two, id1, id2) => {
        fc.pre(one !== two);
        localStorage.clear();
        const a = localStorageStore({ namespace: one });
        const b = localStorageStore({ namespace: two });
        for (const store of [a, b]) await store.open?.({ report: () => {} });
        await a.set(rec(id1));
        await b.set(rec(id2));
        expect((await a.list()).map((r) => r.id)).toEqual([id1]);
        expect((await b.list()).map((r) => r.id)).toEqual([id2]);
        // The id that spelt `b`'s key from `a`'s prefix when `two` extended `one` with ":".
        const reach = `${two.slice(one.length + 1)}:${id2}`;
        if (reach !== id1) expect(await a.get(reach)).toBeUndefined();
        await a.clear();
        expect(await a.purgeExpired(Number.MAX_SAFE_INTEGER)).toEqual([]);
        expect((await b.list()).map((r) => r.id)).toEqual([id2]);
      }),
      { numRuns: 300 },
    );
  });
});

describe("web storage and the tabs' localStorage messages", () => {
  it("a tab message (browsers without BroadcastChannel) never overwrites a session's key", async () => {
    const { BroadcastChannel: channel } = globalThis;
    // Safari before 15.4: the tabs talk through a localStorage key instead.
    Reflect.deleteProperty(globalThis, "BroadcastChannel");
    try {
      const sm = new SessionManager({ backend: "localStorage", namespace: "app" });
      const message = await sm.add("message", { data: { keep: true } });
      await sm.add("other"); // tells the other tabs, at the end of the task
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(await sm.get("message")).toEqual(message);
      expect(Object.keys(localStorage).sort()).toEqual([
        "sessionmanager:app:message",
        "sessionmanager:app:other",
      ]);
      await sm.close();
    } finally {
      globalThis.BroadcastChannel = channel;
    }
  });
});
