// The core without a framework: option checks, the signature's format (Hono's signed cookies,
// with key rotation), the Secure rule's origins, and commit() on each kind of response.
import { parseSigned, serializeSigned } from "hono/utils/cookie";
import { describe, expect, it, vi } from "vitest";
import { isLoopbackHttp } from "../../src/cookies/cookie.ts";
import { cookieSessions } from "../../src/cookies/index.ts";
import { createSigner } from "../../src/cookies/signing.ts";
import {
  AuthError,
  InvalidTtlError,
  SessionManager,
  SessionNotFoundError,
} from "../../src/index.ts";
import { OTHER_SECRET, parseSetCookie, SECRET } from "./helpers.ts";

describe("cookieSessions options", () => {
  it("refuses a short or missing secret with AuthError, before anything runs", () => {
    for (const secret of ["short", ["x".repeat(32), "y".repeat(31)], [] as string[]]) {
      expect(() => cookieSessions({ secret })).toThrow(AuthError);
    }
    expect(() => cookieSessions({ secret: "x".repeat(31) })).toThrow(
      "cookie secret 0 must be at least 32 characters, got 31 characters",
    );
  });

  it("refuses bad durations with InvalidTtlError and bad cookie attributes with TypeError", () => {
    expect(() => cookieSessions({ secret: SECRET, ttl: -1 })).toThrow(InvalidTtlError);
    expect(() => cookieSessions({ secret: SECRET, maxAge: "forever" as "1d" })).toThrow(
      'maxAge must be a positive duration, got "forever"',
    );
    const bad = [
      { cookie: { sameSite: "lenient" as "lax" } },
      { cookie: { path: "app" } },
      { cookie: { domain: "a.example; Secure" } },
      { name: "my sid" },
      { name: "__Host-sid", cookie: { path: "/app" } },
      { name: "__Host-sid", cookie: { domain: "example.com" } },
    ];
    for (const options of bad)
      expect(() => cookieSessions({ secret: SECRET, ...options })).toThrow(TypeError);
  });
});

describe("the signature", () => {
  it("is Hono's signed-cookie format: each verifies what the other signs", async () => {
    const signer = createSigner(SECRET);
    const value = await signer.sign("abcdefghijklmnopqrstuv");
    const header = `sid=${encodeURIComponent(value)}`;
    expect(await parseSigned(header, SECRET, "sid")).toEqual({ sid: "abcdefghijklmnopqrstuv" });
    const byHono = await serializeSigned("sid", "vutsrqponmlkjihgfedcba", SECRET);
    const honoValue = decodeURIComponent(byHono.split(";")[0]?.slice(4) ?? "");
    expect(await signer.verify(honoValue)).toBe("vutsrqponmlkjihgfedcba");
  });

  it("is made with the first key and checked with every key", async () => {
    const id = "abcdefghijklmnopqrstuv";
    const old = await createSigner(SECRET).sign(id);
    const rotated = createSigner([OTHER_SECRET, SECRET]);
    expect(await rotated.verify(old)).toBe(id);
    const fresh = await rotated.sign(id);
    expect(fresh).not.toBe(old);
    expect(await createSigner(OTHER_SECRET).verify(fresh)).toBe(id);
    expect(await createSigner(SECRET).verify(fresh)).toBeUndefined();
    for (const bad of [
      "",
      ".",
      id,
      `${id}.`,
      `${id}.${"A".repeat(43)}=`,
      `a.b.${old}`,
      "%%%.%%%",
    ]) {
      expect(await rotated.verify(bad)).toBeUndefined();
    }
  });
});

describe("the signature's check", () => {
  it("is made once per cookie value: a signed-in user's next requests cost no HMAC", async () => {
    const signer = createSigner([OTHER_SECRET, SECRET]);
    const value = await createSigner(SECRET).sign("abcdefghijklmnopqrstuv");
    const sign = vi.spyOn(crypto.subtle, "sign");
    try {
      expect(await signer.verify(value)).toBe("abcdefghijklmnopqrstuv");
      const first = sign.mock.calls.length;
      expect(first).toBe(2); // the new key, then the old one that signed it
      for (let i = 0; i < 5; i++) expect(await signer.verify(value)).toBe("abcdefghijklmnopqrstuv");
      expect(sign.mock.calls.length).toBe(first);
      // What failed is never remembered: checked again each time.
      const forged = `${value.slice(0, -2)}${value.at(-2) === "A" ? "E" : "A"}=`;
      await signer.verify(forged);
      await signer.verify(forged);
      expect(sign.mock.calls.length).toBe(first + 4);
    } finally {
      sign.mockRestore();
    }
  });
});

describe("the Secure rule", () => {
  it("counts only http://localhost, 127.0.0.1 and [::1] as local development", () => {
    const local = [
      ["http://localhost:3000/a", undefined],
      ["http://127.0.0.1/", undefined],
      ["http://[::1]:8080/", undefined],
      ["/path", "localhost:5173"],
      [undefined, "127.0.0.1:80"],
      ["/", "[::1]:3000"],
    ] as const;
    const remote = [
      ["https://localhost/", undefined],
      ["http://example.com/", "localhost"],
      ["http://192.168.1.2/", undefined],
      ["/", "localhost.example.com"],
      ["/", "127.0.0.2"],
      ["/", undefined],
      ["/", "bad host"],
    ] as const;
    for (const [url, host] of local) expect(isLoopbackHttp(url, host), `${url} ${host}`).toBe(true);
    for (const [url, host] of remote)
      expect(isLoopbackHttp(url, host), `${url} ${host}`).toBe(false);
  });
});

describe("load, set and commit without a framework", () => {
  const origin = "https://shop.example/";

  it("commits to web Headers, a Response, and a Node-style response, each once", async () => {
    const sessions = cookieSessions<{ user: string }>({ secret: SECRET });
    const session = await sessions.load(new Request(origin));
    expect(sessions.setCookies(session)).toEqual([]);
    await session.set({ user: "ada" });
    expect(sessions.setCookies(session)).toHaveLength(1);
    expect(sessions.setCookies(session)).toEqual(sessions.setCookies(session)); // pure
    const headers = new Headers({ "set-cookie": "theme=dark" });
    sessions.commit(session, headers);
    expect(headers.getSetCookie().map((c) => parseSetCookie(c).name)).toEqual([
      "theme",
      "__Host-sid",
    ]);
    sessions.commit(session, headers);
    expect(headers.getSetCookie()).toHaveLength(2);

    await session.rotate();
    const response = new Response("ok");
    sessions.commit(session, response);
    expect(response.headers.getSetCookie()).toHaveLength(1);

    await session.destroy();
    const written: Record<string, unknown> = { "set-cookie": "theme=dark" };
    sessions.commit(session, {
      getHeader: (name) => written[name],
      setHeader: (name, value) => {
        written[name] = value;
      },
    });
    const cleared = (written["set-cookie"] as string[]).map(parseSetCookie);
    expect(cleared.map((c) => [c.name, c.attributes["max-age"]])).toEqual([
      ["theme", undefined],
      ["__Host-sid", "0"],
    ]);
    await sessions.close();
  });

  it("reads the cookie from a web Request and from Node-style headers alike", async () => {
    const sessions = cookieSessions<{ user: string }>({ secret: SECRET });
    const first = await sessions.load({ headers: { host: "shop.example" }, url: "/" });
    await first.set({ user: "ada" });
    const pair = (sessions.setCookies(first)[0] ?? "").split(";")[0] as string;
    const web = await sessions.load(new Request(origin, { headers: { cookie: `a=1; ${pair}` } }));
    const node = await sessions.load({ headers: { cookie: [`a=1`, pair] }, url: "/" });
    expect(web.data).toEqual({ user: "ada" });
    expect(node.id).toBe(web.id);
    await sessions.close();
  });

  it("keeps the cookie at most 400 days, the browsers' limit, whatever maxAge says", async () => {
    const sessions = cookieSessions({ secret: SECRET, maxAge: "500d", ttl: "1d" });
    const session = await sessions.load(new Request(origin));
    await session.set({ user: "ada" });
    const cookie = parseSetCookie(sessions.setCookies(session)[0] ?? "");
    expect(cookie.attributes["max-age"]).toBe(String(400 * 24 * 3600));
    await sessions.close();
  });

  it("refuses to commit a session it did not load", async () => {
    const sessions = cookieSessions({ secret: SECRET });
    const fake = { id: "x", data: undefined, expiresAt: undefined } as never;
    expect(() => sessions.setCookies(fake)).toThrow(TypeError);
    expect(() => sessions.commit(fake, new Headers())).toThrow(TypeError);
    await sessions.close();
  });

  it("does not bring back a session signed out meanwhile: set() rejects and clears the cookie", async () => {
    const manager = new SessionManager<{ user: string; cart?: string[] }>();
    const sessions = cookieSessions({ secret: SECRET, manager });
    const signedIn = await sessions.load(new Request(origin));
    await signedIn.rotate({ user: "ada" });
    const cookie = (sessions.setCookies(signedIn)[0] ?? "").split(";")[0] as string;
    const request = () => new Request(origin, { headers: { cookie } });
    const slow = await sessions.load(request());
    await (await sessions.load(request())).destroy();
    await expect(slow.set({ user: "ada", cart: ["tea"] })).rejects.toBeInstanceOf(
      SessionNotFoundError,
    );
    expect(slow.id).toBeUndefined();
    expect(parseSetCookie(sessions.setCookies(slow)[0] ?? "").attributes["max-age"]).toBe("0");
    expect(await manager.list()).toEqual([]);
    await manager.close();
  });

  it("closes the manager it made, and only that one", async () => {
    const manager = new SessionManager();
    await cookieSessions({ secret: SECRET, manager }).close();
    expect(await manager.has("x")).toBe(false); // still open
    const own = cookieSessions({ secret: SECRET });
    await own.close();
    await expect(own.manager.has("x")).rejects.toMatchObject({ code: "CLOSED" });
    await manager.close();
  });
});
