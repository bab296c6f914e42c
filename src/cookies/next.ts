// Cookie sessions in Next.js (App Router): route handlers and middleware (`proxy.ts` since Next
// 16) get a web Request and return a Response, so the session is loaded from the one and its
// cookie added to the other. Server Actions and Server Components have no Response: there the
// session goes through the cookie store of `cookies()` (next/headers), which the caller passes
// in. Nothing here imports next; its objects are taken by their shape.
import { checkSessions, commitToResponse, sendingSession } from "./response-commit.ts";
import type { CookieSession, CookieSessions } from "./types.ts";

/** What `await cookies()` (next/headers) gives, as far as sessions need it. */
export interface NextCookieStore {
  /** The request's cookies, values decoded, with what this request set already. */
  getAll(): {
    /** The cookie's name. */
    name: string;
    /** Its value, URI-decoded. */
    value: string;
  }[];
  /** Sets a cookie on the response (only in Server Actions and route handlers). */
  set(name: string, value: string, options: NextCookieOptions): unknown;
}

/** The options Next's cookie store takes, as the session's Set-Cookie says them. */
export interface NextCookieOptions {
  /** Path, "/" by default. */
  path?: string;
  /** Domain, when the cookie has one. */
  domain?: string;
  /** Seconds the browser keeps it: until the session's lifetime cap; 0 removes it. */
  maxAge?: number;
  /** Expires, when the Set-Cookie says it. */
  expires?: Date;
  /** Always true: page script never reads the id. */
  httpOnly?: boolean;
  /** True except on http://localhost with `cookie: { secure: false }`. */
  secure?: boolean;
  /** "lax" by default. */
  sameSite?: "lax" | "strict" | "none";
  /** CHIPS, when asked. */
  partitioned?: boolean;
}

/** Cookie sessions for a Next.js app; see {@link nextSessions}. */
export interface NextSessions<Data> {
  /**
   * A route handler (`export const POST = …`) that gets the request's session as its second
   * argument; the cookie it needs is added to the Response the handler returns.
   */
  route<Req extends Request, Context = unknown>(
    handler: (
      request: Req,
      session: CookieSession<Data>,
      context: Context,
    ) => Response | Promise<Response>,
  ): (request: Req, context: Context) => Promise<Response>;
  /**
   * Middleware (`export const proxy = …` in proxy.ts, or `middleware` in middleware.ts) that gets
   * the session and returns the response (`NextResponse.next()`, a redirect…), to which the
   * cookie is added. It runs apart from route handlers: give it a store they share (not memory).
   */
  middleware<Req extends Request>(
    handler: (request: Req, session: CookieSession<Data>) => Response | Promise<Response>,
  ): (request: Req) => Promise<Response>;
  /**
   * The session of `await cookies()`, in a Server Action, a route handler or a Server Component:
   * its changes set the cookie on the store at once (which Next allows only in Server Actions
   * and route handlers). `headers` (`await headers()`) tells a local http request apart, which
   * matters only with `cookie: { secure: false }`.
   */
  cookies(
    store: NextCookieStore,
    headers?: { get(name: string): string | null },
  ): Promise<CookieSession<Data>>;
}

/**
 * Cookie sessions in Next.js route handlers, middleware and `cookies()`.
 * @example
 * // app/lib/sessions.ts
 * export const sessions = nextSessions(cookieSessions<{ user: string }>({ secret, store: { backend: "redis", url } }));
 * // app/api/login/route.ts
 * export const POST = sessions.route(async (request, session) => {
 *   await session.rotate({ user: "ada" }); // a fresh id on sign-in
 *   return Response.json({ signedIn: true });
 * });
 * // a Server Action
 * const session = await sessions.cookies(await cookies());
 */
export function nextSessions<Data>(sessions: CookieSessions<Data>): NextSessions<Data> {
  checkSessions(sessions);
  const around =
    <Req extends Request, Args extends unknown[]>(
      handler: (
        request: Req,
        session: CookieSession<Data>,
        ...args: Args
      ) => Response | Promise<Response>,
    ) =>
    async (request: Req, ...args: Args): Promise<Response> => {
      const session = await sessions.load(request);
      return commitToResponse(sessions, session, await handler(request, session, ...args));
    };
  return {
    route: (handler) => around(handler),
    middleware: (handler) => around(handler),
    cookies: (store, headers) => fromCookieStore(sessions, store, headers),
  };
}

async function fromCookieStore<Data>(
  sessions: CookieSessions<Data>,
  store: NextCookieStore,
  headers: { get(name: string): string | null } | undefined,
): Promise<CookieSession<Data>> {
  // The store's values are decoded, and hold what this request set already.
  const cookie = store
    .getAll()
    .map(({ name, value }) => `${name}=${encodeURIComponent(value)}`)
    .join("; ");
  const request = new Headers({ cookie });
  for (const name of ["host", "forwarded", "x-forwarded-host", "x-forwarded-proto"]) {
    const value = headers?.get(name);
    if (value) request.set(name, value);
  }
  const session = await sessions.load({ headers: request });
  let loading = true;
  const changed = sendingSession(sessions, session, (cookies) => {
    for (const setCookie of cookies) {
      const { name, value, options } = parseSetCookie(setCookie);
      try {
        store.set(name, value, options);
      } catch (error) {
        // A Server Component cannot set cookies: removing a stale cookie on load waits for a
        // request that can. A change the caller asked for fails loudly.
        if (!loading) throw error;
      }
    }
  });
  loading = false;
  return changed;
}

/** One Set-Cookie value of the core as the cookie store's `set` takes it (value decoded). */
export function parseSetCookie(setCookie: string): {
  name: string;
  value: string;
  options: NextCookieOptions;
} {
  const [pair = "", ...attributes] = setCookie.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  const options: NextCookieOptions = {};
  for (const attribute of attributes) {
    const [key = "", raw = ""] = attribute.split("=", 2);
    switch (key.toLowerCase()) {
      case "path":
        options.path = raw;
        break;
      case "domain":
        options.domain = raw;
        break;
      case "max-age":
        options.maxAge = Number(raw);
        break;
      case "expires":
        options.expires = new Date(raw);
        break;
      case "httponly":
        options.httpOnly = true;
        break;
      case "secure":
        options.secure = true;
        break;
      case "samesite":
        options.sameSite = raw.toLowerCase() as "lax" | "strict" | "none";
        break;
      case "partitioned":
        options.partitioned = true;
        break;
    }
  }
  return {
    name: pair.slice(0, eq),
    value: decodeURIComponent(pair.slice(eq + 1)),
    options,
  };
}
