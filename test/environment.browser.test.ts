// The page the browser tests run in has what the browser features rely on: a secure context with
// WebCrypto, IndexedDB, BroadcastChannel and Web Locks (happy-dom lacks IndexedDB and locks).
import { describe, expect, it } from "vitest";

describe("Chromium test page", () => {
  it("is a real browser, not a DOM emulation", () => {
    expect(typeof window).toBe("object");
    expect(navigator.userAgent).toMatch(/Chrome\//);
    expect(typeof process === "undefined" || !process.versions?.node).toBe(true);
  });

  it("is a secure context with WebCrypto", async () => {
    expect(window.isSecureContext).toBe(true);
    expect(crypto.subtle).toBeDefined();
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc"));
    expect(new Uint8Array(digest)[0]).toBe(0xba);
  });

  it("has IndexedDB", async () => {
    expect(typeof indexedDB).toBe("object");
    const name = `probe-${crypto.randomUUID()}`;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("s");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    expect([...db.objectStoreNames]).toEqual(["s"]);
    db.close();
    await new Promise((resolve) => {
      indexedDB.deleteDatabase(name).onsuccess = resolve;
    });
  });

  it("has BroadcastChannel, delivering between two channels of one name", async () => {
    expect(typeof BroadcastChannel).toBe("function");
    const name = `probe-${crypto.randomUUID()}`;
    const a = new BroadcastChannel(name);
    const b = new BroadcastChannel(name);
    const received = new Promise((resolve) => {
      b.onmessage = (event) => resolve(event.data);
    });
    a.postMessage({ hello: "tab" });
    expect(await received).toEqual({ hello: "tab" });
    a.close();
    b.close();
  });

  it("has Web Locks (navigator.locks)", async () => {
    expect(navigator.locks).toBeTruthy();
    const held = await navigator.locks.request(`probe-${crypto.randomUUID()}`, async (lock) => {
      return lock?.mode;
    });
    expect(held).toBe("exclusive");
  });
});
