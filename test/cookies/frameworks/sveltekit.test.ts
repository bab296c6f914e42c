// Cookie sessions in SvelteKit, at the level SvelteKit calls the `handle` hook: an event with the
// web Request and `locals`, and `resolve` (the load functions, actions and endpoints) giving the
// Response; served over real HTTP by @hono/node-server.
import { afterEach, describe, expect, it } from "vitest";
import { type CookieSessions, cookieSessions } from "../../../src/cookies/index.ts";
import { svelteKitSessions } from "../../../src/cookies/sveltekit.ts";
import { SessionManager } from "../../../src/index.ts";
import { testCookieSessions } from "../behaviour.ts";
import { Browser, SECRET } from "../helpers.ts";
import type { AppData } from "../routes.ts";
import { type KitEvent, kit, svelteKitApp } from "./apps.ts";
import { memoryBackend, serveFetch } from "./serve.ts";

testCookieSessions("SvelteKit handle", svelteKitApp, memoryBackend());

describe("SvelteKit: what is SvelteKit's own", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
  });

  async function serve(resolve: (event: KitEvent) => Promise<Response>) {
    const sessions = cookieSessions<AppData>({ secret: SECRET, manager: new SessionManager() });
    cleanup.push(() => sessions.manager.close());
    const running = await serveFetch(kit(sessions, resolve));
    cleanup.push(() => running.close());
    return new Browser(running.url);
  }

  it("adds the cookie to a response whose headers are immutable (a redirect, a fetch())", async () => {
    const browser = await serve(async ({ url, locals }) => {
      if (url.pathname === "/login") {
        await locals.session?.rotate({ user: "ada" });
        return Response.redirect(new URL("/", url), 303);
      }
      return Response.json({ user: locals.session?.data?.user ?? null });
    });
    const response = await browser.fetch("/login", { method: "POST", redirect: "manual" });
    expect(response.status).toBe(303);
    expect(browser.last.map((cookie) => cookie.name)).toEqual(["__Host-sid"]);
    expect(await browser.json("/")).toEqual({ user: "ada" });
  });

  it("keeps the response's own cookies and headers", async () => {
    const browser = await serve(async ({ locals }) => {
      await locals.session?.set({ cart: ["tea"] });
      const response = Response.json({ ok: true }, { headers: { "x-kit": "1" } });
      response.headers.append("set-cookie", "theme=dark; Path=/");
      return response;
    });
    const response = await browser.fetch("/");
    expect(response.headers.get("x-kit")).toBe("1");
    expect(browser.last.map((cookie) => cookie.name)).toEqual(["theme", "__Host-sid"]);
  });

  it("lets an error of the route through, and sends no cookie with it", async () => {
    const sessions = cookieSessions<AppData>({ secret: SECRET, manager: new SessionManager() });
    cleanup.push(() => sessions.manager.close());
    const handle = svelteKitSessions(sessions);
    const event = { request: new Request("https://shop.example/"), locals: {} };
    const boom = new Error("boom");
    await expect(
      handle({
        event,
        resolve: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(event.locals).toHaveProperty("session");
  });

  it("refuses what is not cookieSessions() with a TypeError", () => {
    expect(() => svelteKitSessions(null as unknown as CookieSessions)).toThrow(TypeError);
  });
});
