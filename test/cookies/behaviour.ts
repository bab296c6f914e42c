// What cookie sessions must do through any adapter, over real HTTP: the same suite for Hono,
// Fastify and plain node:http, on memory and on the real services. `serve` starts the routes
// of routes.ts under the adapter; `backend` makes the manager the sessions live in.
import { afterEach, describe, expect, it } from "vitest";
import { type CookieSessionOptions, cookieSessions } from "../../src/cookies/index.ts";
import type { SessionManager } from "../../src/index.ts";
import { Browser, OTHER_SECRET, SECRET, sleep } from "./helpers.ts";
import type { AppData } from "./routes.ts";

export interface Running {
  url: string;
  close(): Promise<void>;
}

export type Serve = (sessions: ReturnType<typeof cookieSessions<AppData>>) => Promise<Running>;

export interface Backend {
  name: string;
  manager(): SessionManager<AppData>;
  /** Takes the store away (`true`) and brings it back; absent where the test cannot. */
  setDown?: (down: boolean) => unknown;
}

type Options = Omit<CookieSessionOptions<AppData>, "manager" | "secret"> & {
  secret?: string | string[];
};

interface Me {
  id?: string;
  data?: AppData;
  expiresAt?: number;
}

/**
 * The suite for `framework` (served by `serve`) on `backend`; `make` is the `cookieSessions` under
 * test (the built package's, for the tests of dist/).
 */
export function testCookieSessions(
  framework: string,
  serve: Serve,
  backend: Backend,
  make: typeof cookieSessions = cookieSessions,
): void {
  describe(`${framework} on ${backend.name}`, () => {
    const apps: Running[] = [];
    const managers = new Set<SessionManager<AppData>>();
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await Promise.all([...managers].map((manager) => manager.close()));
      managers.clear();
    });

    /** The app with `options` over `manager` (a new one unless given); a browser on it. */
    async function start(options: Options = {}, manager = backend.manager()) {
      managers.add(manager);
      const sessions = make<AppData>({ secret: SECRET, ...options, manager });
      const app = await serve(sessions);
      apps.push(app);
      return { app, manager, browser: new Browser(app.url) };
    }

    const cookieOf = (browser: Browser) => browser.last.find((c) => c.name.endsWith("sid"));

    it("signs in with a fresh id: the id planted before sign-in stops working", async () => {
      const { browser, manager } = await start();
      const anonymous = await browser.post<Me>("/cart", { item: "tea" });
      expect(anonymous.id).toMatch(/^[\w-]{22}$/);
      const planted = browser.clone();

      const signedIn = await browser.post<Me>("/login", { user: "ada" });
      expect(signedIn.id).not.toBe(anonymous.id);
      expect(signedIn.data).toEqual({ cart: ["tea"], user: "ada" });
      expect(cookieOf(browser)?.name).toBe("__Host-sid");
      expect(await manager.get(anonymous.id as string)).toBeUndefined();

      expect(await browser.json<Me>("/me")).toMatchObject({ id: signedIn.id, data: signedIn.data });
      expect(browser.last).toEqual([]); // nothing changed: no Set-Cookie
      // The attacker's copy of the pre-sign-in cookie is no session, and is removed.
      expect((await planted.json<Me>("/me")).id).toBeUndefined();
      expect(cookieOf(planted)?.attributes["max-age"]).toBe("0");
    });

    it("sets an HttpOnly, Secure, SameSite=Lax, Path=/ cookie until the lifetime cap", async () => {
      const { browser } = await start({ maxAge: "2h" });
      await browser.post("/login");
      const cookie = cookieOf(browser);
      expect(cookie?.name).toBe("__Host-sid");
      expect(cookie?.attributes).toMatchObject({
        httponly: true,
        secure: true,
        samesite: "Lax",
        path: "/",
      });
      expect(cookie?.attributes.domain).toBeUndefined();
      expect(Number(cookie?.attributes["max-age"])).toBeGreaterThan(7190);
      expect(Number(cookie?.attributes["max-age"])).toBeLessThanOrEqual(7200);
      // The value is the id and its signature, nothing else the server would trust.
      const value = decodeURIComponent(cookie?.value ?? "");
      expect(value).toMatch(/^[\w-]{22}\.[A-Za-z0-9+/]{43}=$/);
    });

    it("takes SameSite, Path and Domain from the options; HttpOnly always", async () => {
      const strict = await start({ cookie: { sameSite: "strict", path: "/" } });
      await strict.browser.post("/login");
      expect(cookieOf(strict.browser)?.attributes).toMatchObject({
        samesite: "Strict",
        httponly: true,
      });
      const none = await start({ cookie: { sameSite: "none", secure: false } });
      await none.browser.post("/login");
      // SameSite=None is refused by browsers without Secure, even on localhost.
      expect(cookieOf(none.browser)?.attributes).toMatchObject({ samesite: "None", secure: true });
      const scoped = await start({ cookie: { path: "/", domain: "example.com" } });
      await scoped.browser.post("/login");
      expect(cookieOf(scoped.browser)?.name).toBe("__Secure-sid");
      expect(cookieOf(scoped.browser)?.attributes.domain).toBe("example.com");
    });

    it("turns Secure off only for http://localhost when asked, never behind a proxy", async () => {
      const { browser, app } = await start({ cookie: { secure: false } });
      await browser.post("/login");
      expect(cookieOf(browser)?.name).toBe("sid");
      expect(cookieOf(browser)?.attributes.secure).toBeUndefined();
      expect((await browser.json<Me>("/me")).data?.user).toBe("ada");
      // The same app behind a proxy: the browser is elsewhere, so the cookie is Secure.
      for (const headers of [
        { "x-forwarded-host": "shop.example" },
        { "x-forwarded-proto": "https" },
      ]) {
        const proxied = new Browser(app.url);
        await proxied.json("/login", { method: "POST", headers });
        expect(cookieOf(proxied)).toMatchObject({
          name: "__Host-sid",
          attributes: { secure: true },
        });
      }
    });

    it("refuses a tampered, forged or unknown cookie: no session, and the cookie removed", async () => {
      const { browser, manager } = await start();
      const me = await browser.post<Me>("/login", { user: "ada" });
      const [name, value] = [...browser.cookies][0] as [string, string];
      const [id, signature] = decodeURIComponent(value).split(".") as [string, string];
      const forged = [
        `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}.${signature}`, // another id, same signature
        `${id}.${signature.slice(0, 10)}${signature[10] === "x" ? "y" : "x"}${signature.slice(11)}`,
        id, // no signature at all
        `${id}.${btoa(String.fromCharCode(...new Uint8Array(32)))}`,
      ];
      for (const bad of forged) {
        const attacker = new Browser(browser.origin);
        attacker.cookies.set(name, encodeURIComponent(bad));
        expect((await attacker.json<Me>("/me")).id).toBeUndefined();
        expect(attacker.last[0]).toMatchObject({ name, attributes: { "max-age": "0" } });
      }
      // A properly signed id of a session that has ended is no session either.
      const stale = browser.clone();
      await manager.remove(me.id as string);
      expect((await stale.json<Me>("/me")).id).toBeUndefined();
      expect(stale.cookies.size).toBe(0);
    });

    it("rotates keys: the first key signs, every key verifies", async () => {
      const manager = backend.manager();
      const before = await start({ secret: SECRET }, manager);
      const signedIn = await before.browser.post<Me>("/login");
      const copy = (from: Browser, to: Running) => {
        const browser = new Browser(to.url);
        for (const [name, value] of from.cookies) browser.cookies.set(name, value);
        return browser;
      };
      // New key first, the old one kept a while: old cookies still work, new ones use the new key.
      const during = await start({ secret: [OTHER_SECRET, SECRET] }, manager);
      expect((await copy(before.browser, during.app).json<Me>("/me")).id).toBe(signedIn.id);
      const fresh = new Browser(during.app.url);
      const again = await fresh.post<Me>("/login");
      // Once the old key is dropped, only cookies signed with the new one work, though the
      // session of the old cookie is still in the store.
      const after = await start({ secret: OTHER_SECRET }, manager);
      expect((await copy(fresh, after.app).json<Me>("/me")).id).toBe(again.id);
      expect(await manager.get(signedIn.id as string)).toBeDefined();
      const old = copy(before.browser, after.app);
      expect((await old.json<Me>("/me")).id).toBeUndefined();
      expect(old.cookies.size).toBe(0);
    });

    it("destroy ends the session and clears the cookie; a copy of it is worthless", async () => {
      const { browser, manager } = await start();
      const me = await browser.post<Me>("/login");
      const copy = browser.clone();
      expect((await browser.post<Me>("/logout")).id).toBeUndefined();
      expect(cookieOf(browser)?.attributes["max-age"]).toBe("0");
      expect(browser.cookies.size).toBe(0);
      expect(await manager.get(me.id as string)).toBeUndefined();
      expect((await copy.json<Me>("/me")).id).toBeUndefined();
    });

    it("rolls: extends a used session by its ttl, at most once per window", async () => {
      const { browser, manager } = await start({ ttl: "10m" }); // window: one minute
      let touches = 0;
      manager.on("touched", () => touches++);
      const first = await browser.post<Me>("/login");
      for (let i = 0; i < 10; i++) await browser.json("/me");
      expect(touches).toBe(0); // well inside the window: no store write
      // As if the user had been away 5 minutes: 5 of the 10 left.
      await manager.touch(first.id as string, "5m");
      touches = 0;
      const rolled = await browser.json<Me>("/me");
      expect(touches).toBe(1);
      expect(rolled.expiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);
      for (let i = 0; i < 10; i++) await browser.json("/me");
      expect(touches).toBe(1);
      expect(browser.last).toEqual([]); // the cookie itself lasts until the lifetime cap
    });

    it("rolls: a busy user outlives the ttl; rolling: false does not", async () => {
      const busy = await start({ ttl: 1000 }); // window: 100 ms
      const rolling = await busy.browser.post<Me>("/login");
      const still = await start({ ttl: 1000, rolling: false });
      const fixed = await still.browser.post<Me>("/login");
      const signedIn = Date.now();
      while (Date.now() - signedIn < 1600) {
        await sleep(150);
        expect((await busy.browser.json<Me>("/me")).id).toBe(rolling.id);
      }
      expect((await still.browser.json<Me>("/me")).id).toBeUndefined();
      expect(fixed.id).toBeDefined();
    });

    it("caps the lifetime at maxAge however busy the user", async () => {
      const { browser } = await start({ ttl: 800, maxAge: 1500 });
      const first = await browser.post<Me>("/login");
      expect(cookieOf(browser)?.attributes["max-age"]).toBe("1");
      const started = Date.now();
      let last: Me = first;
      while (Date.now() - started < 1000) {
        await sleep(100);
        last = await browser.json<Me>("/me");
        expect(last.id).toBe(first.id); // rolling keeps it past its ttl
      }
      expect(last.expiresAt).toBeLessThanOrEqual((first.expiresAt as number) + 700);
      await sleep(1700 - (Date.now() - started));
      expect((await browser.json<Me>("/me")).id).toBeUndefined();
    });

    it("serves concurrent requests of one browser, and of many", async () => {
      const { browser, manager } = await start({ ttl: "10m" });
      let touches = 0;
      manager.on("touched", () => touches++);
      const me = await browser.post<Me>("/login", { user: "ada" });
      const reads = await Promise.all(
        Array.from({ length: 25 }, () => browser.clone().json<Me>("/me")),
      );
      for (const read of reads) expect(read).toMatchObject({ id: me.id, data: { user: "ada" } });
      expect(touches).toBe(0);
      const visitors = Array.from({ length: 20 }, () => new Browser(browser.origin));
      const started = await Promise.all(visitors.map((b) => b.post<Me>("/cart", { item: "x" })));
      expect(new Set(started.map((s) => s.id)).size).toBe(20);
      for (const [i, visitor] of visitors.entries()) {
        expect((await visitor.json<Me>("/me")).id).toBe(started[i]?.id);
      }
    });

    it.skipIf(!backend.setDown)(
      "answers a store failure with its typed error and loses nothing",
      async () => {
        const setDown = backend.setDown as (down: boolean) => unknown;
        const { browser } = await start();
        const me = await browser.post<Me>("/login", { user: "ada" });
        await browser.post("/cart", { item: "tea" });
        await setDown(true);
        try {
          expect(await browser.json("/me", {}, 503)).toEqual({ error: "BACKEND_UNAVAILABLE" });
          expect(browser.cookies.size).toBe(1); // the cookie is kept: the session is not gone
          const fresh = new Browser(browser.origin);
          expect(await fresh.post("/cart", { item: "x" }, 503)).toEqual({
            error: "BACKEND_UNAVAILABLE",
          });
          expect(fresh.cookies.size).toBe(0); // no cookie for a session that was never stored
        } finally {
          await setDown(false);
        }
        expect(await browser.json<Me>("/me")).toMatchObject({
          id: me.id,
          data: { user: "ada", cart: ["tea"] },
        });
      },
    );
  });
}
