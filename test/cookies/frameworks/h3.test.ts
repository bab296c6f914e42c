// Cookie sessions in H3 1.x (the server of Nuxt and Nitro), for real: createApp, served by
// toNodeListener on node:http. The shared behaviour suite runs with the session taken in the
// handler (h3Session) and from a middleware (h3Sessions, event.context.session); then what is
// H3's own: the app's other cookies, web Responses, one session per event, and H3 2's shape.
import { createApp, defineEventHandler, type H3Event, setCookie, toNodeListener } from "h3";
import { afterEach, describe, expect, it } from "vitest";
import { h3Session, h3Sessions } from "../../../src/cookies/h3.ts";
import { type CookieSessions, cookieSessions } from "../../../src/cookies/index.ts";
import { SessionManager } from "../../../src/index.ts";
import { testCookieSessions } from "../behaviour.ts";
import { Browser, SECRET } from "../helpers.ts";
import type { AppData } from "../routes.ts";
import { h3App } from "./apps.ts";
import { memoryBackend, serveNode } from "./serve.ts";

for (const wiring of ["handler", "middleware"] as const) {
  testCookieSessions(`H3 1.x (${wiring})`, (sessions) => h3App(sessions, wiring), memoryBackend());
}

describe("H3 1.x: what is H3's own", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
  });

  async function serve(handler: (event: H3Event, sessions: CookieSessions<AppData>) => unknown) {
    const sessions = cookieSessions<AppData>({
      secret: SECRET,
      manager: new SessionManager<AppData>(),
    });
    cleanup.push(() => sessions.manager.close());
    const app = createApp();
    app.use(defineEventHandler((event) => handler(event, sessions)));
    const running = await serveNode(toNodeListener(app));
    cleanup.push(() => running.close());
    return new Browser(running.url);
  }

  it("keeps the app's own cookies, and sends one session cookie however often it changes", async () => {
    const browser = await serve(async (event, sessions) => {
      setCookie(event, "theme", "dark");
      const session = await h3Session(sessions, event);
      await session.set({ cart: ["tea"] });
      await session.rotate({ user: "ada" });
      setCookie(event, "lang", "en");
      await session.set({ ...session.data, user: "grace" });
      return { id: session.id };
    });
    const response = await browser.fetch("/");
    const { id } = await response.json();
    expect(browser.last.map((cookie) => cookie.name)).toEqual(["theme", "lang", "__Host-sid"]);
    expect(decodeURIComponent(browser.cookies.get("__Host-sid") ?? "")).toMatch(
      new RegExp(`^${id}\\.`),
    );
  });

  it("adds the cookie under a web Response the handler returns, beside that response's own", async () => {
    const browser = await serve(async (event, sessions) => {
      const session = await h3Session(sessions, event);
      if (event.path === "/login") await session.rotate({ user: "ada" });
      return new Response(JSON.stringify({ user: session.data?.user ?? null }), {
        headers: { "content-type": "application/json", "set-cookie": "seen=1; Path=/" },
      });
    });
    expect(await browser.json("/login")).toEqual({ user: "ada" });
    expect(browser.last.map((cookie) => cookie.name).sort()).toEqual(["__Host-sid", "seen"]);
    expect(await browser.json("/me")).toEqual({ user: "ada" });
  });

  it("loads one session per event: a middleware's and the handler's are the same", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET, manager: new SessionManager() });
    cleanup.push(() => sessions.manager.close());
    let loads = 0;
    const counted: CookieSessions<AppData> = {
      ...sessions,
      load: (request) => {
        loads++;
        return sessions.load(request);
      },
    };
    const app = createApp();
    app.use(defineEventHandler(h3Sessions(counted)));
    app.use(
      defineEventHandler(async (event) => {
        const first = await h3Session(counted, event);
        return {
          same: first === event.context.session,
          again: first === (await h3Session(counted, event)),
        };
      }),
    );
    const running = await serveNode(toNodeListener(app));
    cleanup.push(() => running.close());
    expect(await new Browser(running.url).json("/")).toEqual({ same: true, again: true });
    expect(loads).toBe(1);
  });

  it("takes H3 2's events too: a web Request in event.req, Set-Cookie on event.res.headers", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET, manager: new SessionManager() });
    cleanup.push(() => sessions.manager.close());
    const event = {
      req: new Request("https://shop.example/login"),
      res: { headers: new Headers() },
    };
    event.res.headers.append("set-cookie", "theme=dark");
    const session = await h3Session(sessions, event);
    await session.rotate({ user: "ada" });
    const [theme, sid] = event.res.headers.getSetCookie();
    expect(theme).toBe("theme=dark");
    expect(sid).toMatch(/^__Host-sid=.+; HttpOnly; Secure; SameSite=Lax/);
    // Signing out replaces the sign-in cookie by the removal, rather than sending both.
    await session.destroy();
    expect(event.res.headers.getSetCookie()).toEqual([
      "theme=dark",
      expect.stringMatching(/^__Host-sid=; Max-Age=0/),
    ]);
  });

  it("refuses what is not cookieSessions() with a TypeError", () => {
    const event = { req: new Request("https://shop.example/"), res: { headers: new Headers() } };
    expect(() => h3Session({} as CookieSessions, event)).toThrow(TypeError);
    expect(() => h3Sessions(undefined as unknown as CookieSessions)).toThrow(
      "sessions must be what cookieSessions() returns, got undefined",
    );
  });
});
