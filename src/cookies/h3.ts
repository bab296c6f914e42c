// Cookie sessions in H3, the server of Nuxt and Nitro. An H3 handler returns its body and H3 sends
// it, so there is no moment after the handler to add a cookie: the session sends its cookie on
// the response as soon as it changes, while the handler runs. Nothing here imports h3: an event is
// taken by its shape, H3 1.x's (`event.node.req/res`, Node's or unenv's) or H3 2's (`event.req`,
// a web Request, and `event.res.headers`).
import {
  checkSessions,
  type NodeHeaders,
  sendingSession,
  setCookieSender,
} from "./response-commit.ts";
import type { CookieSession, CookieSessions, RequestLike } from "./types.ts";

/** Node's ServerResponse under H3 1.x (or unenv's stand-in for it), as far as sessions use it. */
export interface H3NodeResponse {
  /** The Set-Cookie values already there, kept beside the session's. */
  getHeader(name: string): unknown;
  /** Writes Set-Cookie: the app's values and the session's one. */
  setHeader(name: string, value: string | readonly string[]): unknown;
  /** Removes Set-Cookie when the session takes back the only value it had. */
  removeHeader?(name: string): unknown;
}

/** An H3 event as the adapter reads it: H3 1.x (Nuxt 3 and 4, Nitro 2) or H3 2. */
export type H3EventLike =
  | {
      /** H3 1.x: Node's request and response (unenv's stand-ins outside Node). */
      node: {
        /** The request: its headers, and its path. */
        req: RequestLike;
        /** The response the cookie is set on. */
        res: H3NodeResponse;
      };
    }
  | {
      /** H3 2: the web Request. */
      req: RequestLike;
      /** H3 2: the response being prepared. */
      res: {
        /** Its headers, which the cookie is appended to. */
        headers: Headers;
      };
    };

// One session per event and per sessions object, so a middleware and the handler share it.
const loaded = new WeakMap<CookieSessions<never>, WeakMap<object, Promise<CookieSession>>>();

/**
 * The session of an H3 event (loaded once per event: every call for the same event gets the same
 * session). Its changes send their Set-Cookie header on the event's response at once, so call them
 * before the handler returns.
 * @example
 * const sessions = cookieSessions({ secret: process.env.SESSION_SECRET, store: { backend: "redis", url } });
 * export default defineEventHandler(async (event) => {
 *   const session = await h3Session(sessions, event);
 *   await session.rotate({ user: "alice" });
 *   return { signedIn: true };
 * });
 */
export function h3Session<Data>(
  sessions: CookieSessions<Data>,
  event: H3EventLike,
): Promise<CookieSession<Data>> {
  checkSessions(sessions);
  const key = sessions as CookieSessions<never>;
  const perEvent = loaded.get(key) ?? new WeakMap<object, Promise<CookieSession>>();
  loaded.set(key, perEvent);
  let session = perEvent.get(event) as Promise<CookieSession<Data>> | undefined;
  if (!session) {
    session = load(sessions, event);
    perEvent.set(event, session as Promise<CookieSession>);
    // A failed load is not kept: the next call tries again.
    session.catch(() => perEvent.delete(event));
  }
  return session;
}

/**
 * An H3 middleware that puts the request's session in `event.context.session` (the same one
 * {@link h3Session} gives), for Nitro's `server/middleware/` or `app.use()`. Type it for your
 * handlers with `declare module "h3" { interface H3EventContext { session: CookieSession<Data> } }`.
 * @example
 * // server/middleware/session.ts
 * export default defineEventHandler(h3Sessions(sessions));
 */
export function h3Sessions<Data>(
  sessions: CookieSessions<Data>,
): (event: H3EventLike & { context: object }) => Promise<void> {
  checkSessions(sessions);
  return async (event) => {
    (event.context as { session?: CookieSession<Data> }).session = await h3Session(sessions, event);
  };
}

async function load<Data>(
  sessions: CookieSessions<Data>,
  event: H3EventLike,
): Promise<CookieSession<Data>> {
  const [request, response]: [RequestLike, NodeHeaders | Headers] =
    "node" in event && event.node?.res
      ? [event.node.req, event.node.res]
      : [(event as { req: RequestLike }).req, (event as { res: { headers: Headers } }).res.headers];
  return sendingSession(sessions, await sessions.load(request), setCookieSender(response));
}
