// The checks of test/package/script-tag.e2e.test.ts, run inside the page that loaded
// dist/sessionmanager.global.js by <script src> (see server.ts), in Firefox and WebKit.
import { describe, expect, it } from "vitest";

type Lib = typeof import("../../../src/index.ts");
const page = window as unknown as Window & { sessionmanager?: Lib; __pageErrors: string[] };

function lib(): Lib {
  if (!page.sessionmanager) throw new Error("the global `sessionmanager` is not defined");
  return page.sessionmanager;
}

describe("script-tag bundle", () => {
  it("defines the global `sessionmanager` in a secure context", () => {
    expect(typeof page.sessionmanager?.SessionManager).toBe("function");
    expect(typeof page.sessionmanager?.createSessionId).toBe("function");
    expect(window.isSecureContext).toBe(true);
  });

  it("adds a session and reads it back", async () => {
    const { SessionManager, createSessionId, isSessionError } = lib();
    const sm = new SessionManager({ defaultTtl: "10m" });
    await sm.ready;
    const id = createSessionId();
    const added = await sm.add(id, { data: { user: "ada", theme: "dark" } });
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await sm.get(id)).toEqual(added);
    expect(added).toMatchObject({ data: { user: "ada", theme: "dark" }, version: 1 });
    const exists = await sm.add(id).catch((error: unknown) => ({
      isSessionError: isSessionError(error),
      code: (error as { code?: string }).code,
    }));
    expect(exists).toEqual({ isSessionError: true, code: "SESSION_EXISTS" });
    await sm.close();
  });

  it("warns with expiringSoon, then fires expired, once each", async () => {
    const sm = new (lib().SessionManager)({ warnBefore: 150 });
    const seen: string[] = [];
    sm.onExpiringSoon((session) => seen.push(`expiringSoon:${session.id}`));
    const expired = new Promise<void>((done) => {
      sm.onExpired((session) => {
        seen.push(`expired:${session.id}`);
        done();
      });
    });
    await sm.add("short", { ttl: 300 });
    await expired;
    await new Promise((done) => setTimeout(done, 400)); // nothing fires twice
    expect(seen).toEqual(["expiringSoon:short", "expired:short"]);
    expect(await sm.get("short")).toBeUndefined();
    await sm.close();
  });

  it("ran without page errors", () => {
    expect(page.__pageErrors).toEqual([]);
  });
});
