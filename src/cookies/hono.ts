// Hono: a middleware that loads the request's session into `c.get("session")` and sends its
// Set-Cookie with whatever response the route makes. Only Hono's types are imported (Hono is a
// dependency of this package already); nothing of it runs here.
import type { MiddlewareHandler } from "hono";
import type { CookieSession, CookieSessions } from "./types.ts";

/** The variables `honoSessions` sets: `c.get("session")`. Give them to `new Hono<{ Variables }>()`. */
export interface SessionVariables<Data = unknown> {
  /** The request's session. */
  session: CookieSession<Data>;
}

/** The Hono environment `honoSessions` needs: `new Hono<SessionEnv<Data>>()` gives it. */
export interface SessionEnv<Data = unknown> {
  /** `c.get("session")`. */
  Variables: SessionVariables<Data>;
}

/**
 * Hono middleware: `c.get("session")` is the request's session, and the cookie it needs is
 * added to the response after the route ran (also to a response a route returned as is).
 * @example
 * const app = new Hono<{ Variables: SessionVariables<{ user: string }> }>();
 * app.use(honoSessions(sessions));
 * app.post("/login", async (c) => { await c.get("session").rotate({ user: "ada" }); return c.text("hi"); });
 */
export function honoSessions<Data>(
  sessions: CookieSessions<Data>,
): MiddlewareHandler<SessionEnv<Data>> {
  return async (c, next) => {
    const session = await sessions.load(c.req.raw);
    c.set("session", session);
    await next();
    // After the route: c.header() re-creates a response whose headers are immutable.
    for (const value of sessions.setCookies(session))
      c.header("set-cookie", value, { append: true });
  };
}
