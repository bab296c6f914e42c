// The Store contract on the backends that need no service (memory, file, SQLite), and what the
// store adds over a manager: its options, a manager passed in, closing, the manager's events.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { SessionManagerStore } from "../../src/express-session/index.ts";
import { SessionManager } from "../../src/node.ts";
import { tempDir } from "../helpers/temp.ts";
import { called, sessionFor, storeContract } from "./contract.ts";

const dir = await tempDir("sm-express-session-");

storeContract("memory", () => ({ backend: "memory" }), { shared: false });
storeContract("file", () => ({ backend: "file", path: join(dir, "sessions.json") }));
storeContract("sqlite", () => ({ backend: "sqlite", path: join(dir, "sessions.db") }));

describe("SessionManagerStore", () => {
  it("a manager passed in: its namespace scopes the store, and close() leaves it open", async () => {
    const manager = new SessionManager({ namespace: "mine" });
    const store = new SessionManagerStore({ manager, ttl: "2h" });
    expect(store.manager).toBe(manager);
    await store.set("s", sessionFor(null, { a: 1 }));
    const stored = await manager.get("s");
    expect(stored?.data).toMatchObject({ a: 1 });
    expect((stored?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(7_190_000);
    await store.close();
    expect(await manager.has("s")).toBe(true);
    await manager.close();
  });

  it("a manager and options that would build another: BackendError, at once", () => {
    const manager = new SessionManager();
    expect(() => new SessionManagerStore({ manager, backend: "memory" } as never)).toThrowError(
      expect.objectContaining({ code: "BACKEND_UNAVAILABLE" }),
    );
    void manager.close();
  });

  it("connect-redis's options without a counterpart (disableTTL, serializer, scanCount): BackendError naming them", () => {
    for (const option of [{ disableTTL: true }, { serializer: JSON }, { scanCount: 100 }]) {
      const name = Object.keys(option)[0] as string;
      expect(() => new SessionManagerStore(option as never)).toThrowError(
        expect.objectContaining({
          code: "BACKEND_UNAVAILABLE",
          message: expect.stringContaining(`${name} is an option of connect-redis`),
        }),
      );
    }
  });

  it("close() closes the manager it built: later calls fail with CLOSED, by callback", async () => {
    const store = new SessionManagerStore();
    await store.close();
    expect((await called((cb) => store.get("s", cb))).error).toMatchObject({ code: "CLOSED" });
    expect((await called((cb) => store.set("s", sessionFor(1000), cb))).error).toMatchObject({
      code: "CLOSED",
    });
  });

  it("a bad ttl option: InvalidTtlError from the constructor", () => {
    for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, "soon", "0s"]) {
      expect(() => new SessionManagerStore({ ttl: ttl as never })).toThrowError(
        expect.objectContaining({ code: "INVALID_TTL" }),
      );
    }
  });

  it("ttl as a function of the session decides every lifetime (seconds), as in connect-redis", async () => {
    const store = new SessionManagerStore({
      ttl: (session) => ((session as { vip?: boolean }).vip ? 600 : 10),
    });
    await store.set("vip", sessionFor(60_000, { vip: true }));
    await store.set("guest", sessionFor(60_000));
    const left = async (sid: string) =>
      ((await store.manager.get(sid))?.expiresAt ?? 0) - Date.now();
    expect(await left("vip")).toBeGreaterThan(590_000);
    expect(await left("guest")).toBeLessThanOrEqual(10_000);
    await store.close();
  });

  it("a cookie whose expires is not a date: InvalidTtlError to the callback, nothing stored", async () => {
    const store = new SessionManagerStore();
    const session = { cookie: { expires: "someday" } } as never;
    expect((await called((cb) => store.set("s", session, cb))).error).toMatchObject({
      code: "INVALID_TTL",
    });
    expect(await store.length()).toBe(0);
    await store.close();
  });

  it("data JSON would lose (a function): InvalidDataError to the callback, nothing stored", async () => {
    const store = new SessionManagerStore();
    const session = { ...(sessionFor(60_000) as object), handler: () => 1 } as never;
    expect((await called((cb) => store.set("s", session, cb))).error).toMatchObject({
      code: "INVALID_DATA",
    });
    expect(await store.get("s")).toBeNull();
    await store.close();
  });

  it("the manager's events on the server: expiringSoon before a session's cookie ends, then expired", async () => {
    const store = new SessionManagerStore({ backend: "memory", warnBefore: 250 });
    const seen: string[] = [];
    store.manager.onExpiringSoon((session, msLeft) =>
      seen.push(`soon ${session.id} ${msLeft <= 250}`),
    );
    store.manager.onExpired((session) => seen.push(`expired ${session.id}`));
    await store.set("s", sessionFor(400, { user: "ada" }));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(seen).toEqual(["soon s true", "expired s"]);
    await store.close();
  });

  it("encryption at rest: the data is sealed in the store, and reads back as it was", async () => {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    const path = join(dir, "sealed.db");
    const store = new SessionManagerStore({ backend: "sqlite", path, encryption: { key } });
    await store.set("s", sessionFor(60_000, { secret: "plaintext-marker" }));
    expect(await store.get("s")).toMatchObject({ secret: "plaintext-marker" });
    await store.close();
    const raw = await readFile(path);
    expect(raw.includes("plaintext-marker")).toBe(false);
  });

  it("a touch right after the read, moving the expiry by under a second, writes nothing", async () => {
    const store = new SessionManagerStore();
    await store.set("s", sessionFor(3_600_000));
    const touch = vi.spyOn(store.manager, "touch");
    await store.get("s"); // as express-session does when the request starts
    await store.touch("s", sessionFor(3_600_000));
    expect(touch).not.toHaveBeenCalled();
    await store.touch("s", sessionFor(7_200_000)); // an hour more: written
    expect(touch).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await store.touch("s", sessionFor(7_200_000)); // what it knows is a second old: written
    expect(touch).toHaveBeenCalledTimes(2);
    const other = new SessionManagerStore({ manager: store.manager });
    await other.touch("s", sessionFor(7_200_000)); // a store that read nothing: written
    expect(touch).toHaveBeenCalledTimes(3);
    await store.close();
  });

  it("parallel touches of one session (a page's requests) make one write", async () => {
    const store = new SessionManagerStore();
    await store.set("s", sessionFor(60_000));
    const touch = vi.spyOn(store.manager, "touch");
    const touches = Array.from({ length: 8 }, () => store.touch("s", sessionFor(3_600_000)));
    await Promise.all(touches);
    expect(touch).toHaveBeenCalledTimes(1);
    expect(((await store.manager.get("s"))?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(
      3_590_000,
    );
    await store.close();
  });

  it("a backend that is down: BackendError to the callback, never thrown", async () => {
    const store = new SessionManagerStore({ backend: "redis", url: "redis://127.0.0.1:1" });
    let error: unknown;
    expect(() => store.get("s", (e) => (error = e))).not.toThrow();
    await expect
      .poll(() => error, { timeout: 10_000 })
      .toMatchObject({
        code: "BACKEND_UNAVAILABLE",
      });
    await store.close();
  });
});
