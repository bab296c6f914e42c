// A SessionManager in a real Chromium page, with real timers (no fakes): the browser's own
// setTimeout, Date and WebCrypto.
import { afterEach, describe, expect, it } from "vitest";
import {
  createSessionId,
  InvalidTtlError,
  isSessionError,
  type Session,
  SessionError,
  SessionExistsError,
  SessionManager,
  SessionNotFoundError,
} from "../src/index.ts";

const managers: SessionManager<unknown>[] = [];
function manager<Data>(options: ConstructorParameters<typeof SessionManager<Data>>[0] = {}) {
  const sm = new SessionManager<Data>(options);
  managers.push(sm as SessionManager<unknown>);
  return sm;
}
afterEach(async () => {
  for (const sm of managers.splice(0)) await sm.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds, for at most `ms` (generous: CI machines are slow, tabs throttle). */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

describe("SessionManager in a browser", () => {
  it("adds, reads, touches, updates and removes a session", async () => {
    const sm = manager<{ user: string; theme?: string }>({ backend: "memory", defaultTtl: "10m" });
    await sm.ready;
    expect(sm.status).toBe("ready");

    const added = await sm.add("user123", { data: { user: "ada" }, ttl: "15m" });
    expect(added).toMatchObject({
      id: "user123",
      data: { user: "ada" },
      ttl: 15 * 60_000,
      version: 1,
    });
    expect(added.expiresAt - added.createdAt).toBe(15 * 60_000);
    expect(await sm.get("user123")).toEqual(added);
    expect(await sm.getOrThrow("user123")).toEqual(added);
    expect(await sm.has("user123")).toBe(true);
    await expect(sm.add("user123", { data: { user: "eve" } })).rejects.toBeInstanceOf(
      SessionExistsError,
    );

    await sleep(5);
    const touched = await sm.touch("user123", "1h");
    expect(touched.version).toBe(2);
    expect(touched.expiresAt).toBeGreaterThan(added.expiresAt);

    const updated = await sm.update("user123", (old) => ({ user: old?.user ?? "", theme: "dark" }));
    expect(updated).toMatchObject({ version: 3, data: { user: "ada", theme: "dark" } });
    expect(updated.expiresAt).toBe(touched.expiresAt);
    expect(await sm.list()).toEqual([updated]);

    expect(await sm.remove("user123")).toBe(true);
    expect(await sm.remove("user123")).toBe(false);
    expect(await sm.get("user123")).toBeUndefined();
    expect(await sm.has("user123")).toBe(false);
    await expect(sm.getOrThrow("user123")).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it("fires added/touched/updated/removed events", async () => {
    const sm = manager({ backend: "memory" });
    const seen: string[] = [];
    for (const event of ["added", "touched", "updated", "removed"] as const) {
      sm.on(event, (session: Session<unknown>) => seen.push(`${event}:${session.id}`));
    }
    await sm.add("a");
    await sm.touch("a");
    await sm.update("a", { n: 1 });
    await sm.remove("a");
    expect(seen).toEqual(["added:a", "touched:a", "updated:a", "removed:a"]);
  });

  it("warns, then expires, once each, with real timers", async () => {
    const sm = manager({ backend: "memory", warnBefore: 150 });
    const events: string[] = [];
    let msLeft = Number.NaN;
    sm.onExpiringSoon((session, left) => {
      events.push(`expiringSoon:${session.id}`);
      msLeft = left;
    });
    sm.onExpired((session) => events.push(`expired:${session.id}`));

    const session = await sm.add("short", { data: { n: 1 }, ttl: 300 });
    expect(session.ttl).toBe(300);
    await until(() => events.includes("expired:short"));
    // Quiet afterwards: nothing fires twice.
    await sleep(400);
    expect(events).toEqual(["expiringSoon:short", "expired:short"]);
    expect(msLeft).toBeGreaterThanOrEqual(0);
    expect(msLeft).toBeLessThanOrEqual(150);
    expect(await sm.get("short")).toBeUndefined();
    expect(await sm.list()).toEqual([]);
  });

  it("reads an expired session as absent even before the sweep", async () => {
    const sm = manager({ backend: "memory", warnBefore: 0 });
    await sm.add("brief", { ttl: "50ms" });
    await sleep(120);
    expect(await sm.get("brief")).toBeUndefined();
  });

  it("creates 128-bit base64url ids with the page's WebCrypto", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => createSessionId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // 22 base64url characters hold 132 bits; the last carries 2 bits of the 128, so it is one of 4.
    for (const id of ids) expect("AQgw").toContain(id[21]);
  });

  it("tells its errors apart with isSessionError and codes", async () => {
    const sm = manager({ backend: "memory" });
    const error = await sm.add("x", { ttl: -10 }).catch((e: unknown) => e);
    expect(isSessionError(error)).toBe(true);
    expect(error).toBeInstanceOf(InvalidTtlError);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: "INVALID_TTL", name: "InvalidTtlError" });
    expect(isSessionError(new Error("plain"))).toBe(false);
    expect(isSessionError({ code: "INVALID_TTL" })).toBe(false);

    await sm.close();
    await expect(sm.get("x")).rejects.toMatchObject({ code: "CLOSED" });
  });
});
