// Cookie sessions in Next.js, at the level Next.js calls them: route handlers and middleware get a
// web Request and return a Response (served here over real HTTP by @hono/node-server), and
// `cookies()` is a cookie store, modelled on Next's (values decoded, writes visible to reads,
// and refused in Server Components).
import { afterEach, describe, expect, it } from "vitest";
import { type CookieSessions, cookieSessions } from "../../../src/cookies/index.ts";
import {
  type NextCookieOptions,
  type NextCookieStore,
  nextSessions,
  parseSetCookie,
} from "../../../src/cookies/next.ts";
import { SessionManager } from "../../../src/index.ts";
import { testCookieSessions } from "../behaviour.ts";
import { Browser, SECRET } from "../helpers.ts";
import type { AppData } from "../routes.ts";
import { nextRouteApp } from "./apps.ts";
import { memoryBackend, serveFetch } from "./serve.ts";

testCookieSessions("Next.js route handler", nextRouteApp, memoryBackend());

/** A cookie store as Next's `cookies()` gives it: decoded values, what was set read back. */
class CookieStore implements NextCookieStore {
  readonly values = new Map<string, string>();
  readonly written: { name: string; value: string; options: NextCookieOptions | undefined }[] = [];

  constructor(
    cookieHeader = "",
    private readonly readOnly = false,
  ) {
    for (const pair of cookieHeader.split("; ").filter(Boolean)) {
      const eq = pair.indexOf("=");
      this.values.set(pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1)));
    }
  }

  getAll() {
    return [...this.values].map(([name, value]) => ({ name, value }));
  }

  set(name: string, value: string, options?: NextCookieOptions) {
    if (this.readOnly) {
      throw new Error("Cookies can only be modified in a Server Action or Route Handler.");
    }
    this.written.push({ name, value, options });
    if (options?.maxAge === 0) this.values.delete(name);
    else this.values.set(name, value);
  }

  /** The Cookie header a browser would send next, as Next writes Set-Cookie (value encoded). */
  header(): string {
    return [...this.values].map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join("; ");
  }
}

describe("Next.js: what is Next's own", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
  });

  function sessionsFor(options: { secure?: boolean } = {}): CookieSessions<AppData> {
    const sessions = cookieSessions<AppData>({
      secret: SECRET,
      manager: new SessionManager<AppData>(),
      ...(options.secure === undefined ? {} : { cookie: { secure: options.secure } }),
    });
    cleanup.push(() => sessions.manager.close());
    return sessions;
  }

  async function serve(fetch: (request: Request) => Promise<Response>): Promise<Browser> {
    const running = await serveFetch(fetch);
    cleanup.push(() => running.close());
    return new Browser(running.url);
  }

  it("adds the cookie to a redirect, whose headers are immutable, and passes the context on", async () => {
    const next = nextSessions(sessionsFor());
    const login = next.route(
      async (request, session, context: { params: Promise<{ to: string }> }) => {
        await session.rotate({ user: "ada" });
        const { to } = await context.params;
        return Response.redirect(new URL(`/${to}`, request.url), 303);
      },
    );
    const me = next.route(async (_request, session) => Response.json({ user: session.data?.user }));
    const browser = await serve((request) =>
      new URL(request.url).pathname === "/login"
        ? login(request, { params: Promise.resolve({ to: "welcome" }) })
        : me(request, undefined),
    );
    const response = await browser.fetch("/login", { method: "POST", redirect: "manual" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toMatch(/\/welcome$/);
    expect(browser.last.map((cookie) => cookie.name)).toEqual(["__Host-sid"]);
    expect(await browser.json("/me")).toEqual({ user: "ada" });
  });

  it("middleware: lets a session through with its response, redirects one without, signs out", async () => {
    const sessions = sessionsFor();
    const proxy = nextSessions(sessions).middleware(async (request, session) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/logout") {
        await session.destroy();
        return Response.redirect(new URL("/", request.url), 307);
      }
      if (!session.id) return Response.redirect(new URL("/login", request.url), 307);
      // NextResponse.next(): Next goes on to the route, with these headers added.
      return new Response(null, { headers: { "x-middleware-next": "1" } });
    });
    const browser = await serve((request) => proxy(request));
    const anonymous = await browser.fetch("/account", { redirect: "manual" });
    expect(anonymous.headers.get("location")).toMatch(/\/login$/);

    // Signed in elsewhere (a Server Action): the browser holds the cookie it set.
    const action = new CookieStore();
    const login = await nextSessions(sessions).cookies(action);
    await login.rotate({ user: "ada" });
    browser.cookies.set("__Host-sid", encodeURIComponent(action.values.get("__Host-sid") ?? ""));
    const through = await browser.fetch("/account", { redirect: "manual" });
    expect(through.headers.get("x-middleware-next")).toBe("1");
    expect(browser.last).toEqual([]);

    const out = await browser.fetch("/logout", { redirect: "manual" });
    expect(out.status).toBe(307);
    expect(browser.last[0]).toMatchObject({ name: "__Host-sid", attributes: { "max-age": "0" } });
    expect(await sessions.manager.get(login.id as string)).toBeUndefined();
  });

  it("cookies(): signs in through the store, which the next request's route handler reads", async () => {
    const sessions = sessionsFor();
    const next = nextSessions(sessions);
    const store = new CookieStore("theme=dark");
    const session = await next.cookies(store);
    expect(session.id).toBeUndefined();
    await session.rotate({ user: "ada" });

    expect(store.written).toHaveLength(1);
    const [{ name, value, options } = {} as never] = store.written;
    expect(name).toBe("__Host-sid");
    expect(value).toBe(`${session.id}.${value.split(".")[1]}`); // decoded: the store encodes it
    expect(options).toMatchObject({ path: "/", httpOnly: true, secure: true, sameSite: "lax" });
    expect(options?.maxAge).toBeGreaterThan(7 * 24 * 3600 - 5);

    // The next request: its route handler and its cookies() both find the session.
    const me = next.route(async (_request, s) => Response.json({ id: s.id, data: s.data }));
    const request = new Request("https://shop.example/me", { headers: { cookie: store.header() } });
    expect(await (await me(request, undefined)).json()).toEqual({
      id: session.id,
      data: { user: "ada" },
    });
    const later = await next.cookies(new CookieStore(store.header()));
    expect(later.data).toEqual({ user: "ada" });

    await later.destroy();
    expect(store.written).toHaveLength(1);
    expect(await next.cookies(new CookieStore(store.header())).then((s) => s.id)).toBeUndefined();
  });

  it("cookies() in a Server Component: reads, leaves a stale cookie, and refuses a change loudly", async () => {
    const sessions = sessionsFor();
    const next = nextSessions(sessions);
    const signIn = new CookieStore();
    const signedIn = await next.cookies(signIn);
    await signedIn.rotate({ user: "ada" });

    const page = await next.cookies(new CookieStore(signIn.header(), true));
    expect(page.data).toEqual({ user: "ada" });
    await sessions.manager.remove(signedIn.id as string);
    // The cookie now leads nowhere: its removal waits for a request that may set cookies.
    const stale = await next.cookies(new CookieStore(signIn.header(), true));
    expect(stale.id).toBeUndefined();
    await expect(stale.rotate({ user: "eve" })).rejects.toThrow("Server Action or Route Handler");
    // A store that may write removes it at once.
    const action = new CookieStore(signIn.header());
    await next.cookies(action);
    expect(action.written[0]).toMatchObject({
      name: "__Host-sid",
      value: "",
      options: { maxAge: 0 },
    });
  });

  it("cookies() with headers(): Secure off for http://localhost when asked, not behind a proxy", async () => {
    const next = nextSessions(sessionsFor({ secure: false }));
    const local = new CookieStore();
    await (await next.cookies(local, new Headers({ host: "localhost:3000" }))).rotate({});
    expect(local.written[0]?.name).toBe("sid");
    expect(local.written[0]?.options?.secure).toBeUndefined();
    const proxied = new CookieStore();
    const headers = new Headers({ host: "localhost:3000", "x-forwarded-proto": "https" });
    await (await next.cookies(proxied, headers)).rotate({});
    expect(proxied.written[0]).toMatchObject({ name: "__Host-sid", options: { secure: true } });
    // Without headers the request may be anywhere: Secure.
    const unknown = new CookieStore();
    await (await next.cookies(unknown)).rotate({});
    expect(unknown.written[0]?.options?.secure).toBe(true);
  });

  it("parses every attribute the core writes into the store's options", () => {
    expect(
      parseSetCookie(
        "__Secure-sid=a%2Bb%2F%3D; Max-Age=60; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 2026 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict; Partitioned",
      ),
    ).toEqual({
      name: "__Secure-sid",
      value: "a+b/=",
      options: {
        maxAge: 60,
        domain: "example.com",
        path: "/app",
        expires: new Date("2026-01-01T00:00:00Z"),
        httpOnly: true,
        secure: true,
        sameSite: "strict",
        partitioned: true,
      },
    });
  });

  it("refuses what is not cookieSessions() with a TypeError", () => {
    expect(() => nextSessions({ load: 1 } as unknown as CookieSessions)).toThrow(TypeError);
  });
});
