// `cookieSessions(options)`: the framework-neutral core. It reads the signed id from the request's
// Cookie header, loads the session from the manager (extending it when rolling), and tells the
// adapter which Set-Cookie to send. Nothing in the cookie is trusted beyond the id its signature
// vouches for; a forged, unknown or ended id is a request without a session, and its cookie is
// removed.
import { parseDuration } from "../duration.ts";
import { ConflictError } from "../errors.ts";
import { ServerSideManager } from "../server-side-manager.ts";
import { touchTolerance } from "../session.ts";
import type { Session } from "../types.ts";
import { cookieShapes, isLoopbackRequest } from "./cookie.ts";
import { cookieIds } from "./cookie-ids.ts";
import { appendSetCookie, requestHeader } from "./headers.ts";
import { isGone, RequestSession, type SessionContext } from "./session.ts";
import { createSigner } from "./signing.ts";
import type { CookieSession, CookieSessionOptions, CookieSessions, RequestLike } from "./types.ts";

/**
 * Cookie sessions for a server: a signed, HttpOnly, Secure, SameSite=Lax cookie holding only a
 * random id, the data in a SessionManager. Adapters for Hono, Fastify and plain Node build on it.
 * @example
 * const sessions = cookieSessions({ store: { backend: "redis", url }, secret: process.env.SECRET });
 * const session = await sessions.load(request);
 * await session.rotate({ user: "ada" }); // on sign-in
 * sessions.commit(session, response);
 */
export function cookieSessions<Data = unknown>(
  options: CookieSessionOptions<Data>,
): CookieSessions<Data> {
  const signer = createSigner(options.secret);
  const ttl = parseDuration(options.ttl ?? "1h", "ttl");
  const maxAge = parseDuration(options.maxAge ?? "7d", "maxAge");
  const shapeFor = cookieShapes(options.name, options.cookie);
  const idOf = cookieIds(signer);
  const rolling = options.rolling ?? true;
  const owned = !options.manager;
  const manager =
    options.manager ?? new ServerSideManager<Data>({ defaultTtl: ttl, ...options.store });
  const context: SessionContext = {
    manager: manager as unknown as SessionContext["manager"],
    signer,
    ttl,
    maxAge,
  };

  const known = (session: CookieSession<Data>): RequestSession<Data> => {
    if (session instanceof RequestSession) return session;
    throw new TypeError("not a session of these cookie sessions: pass what load() returned");
  };

  return {
    manager,
    async load(request: RequestLike): Promise<CookieSession<Data>> {
      const shape = shapeFor(request, isLocal);
      const cookie = idOf(requestHeader(request, "cookie", "; "), shape.name);
      const { value, id } = "then" in cookie ? await cookie : cookie;
      let found = id === undefined ? undefined : await context.manager.get(id);
      // Most reads extend nothing: only one that does waits for the extension.
      if (found && rolling && isDue(found)) found = await extend(context.manager, found);
      return new RequestSession<Data>(context, shape, found, value !== undefined && !found);
    },
    setCookies: (session) => known(session).setCookies(),
    commit(session, response) {
      const values = known(session).setCookies();
      appendSetCookie(response, values);
      known(session).sent();
    },
    async close() {
      if (owned) await manager.close();
    },
  };
}

/**
 * Extends a session by its ttl, once `isDue`: a busy user costs one store write a minute rather
 * than one a request. A session that ended meanwhile is none; another request's touch is as good.
 */
async function extend(
  manager: SessionContext["manager"],
  session: Session,
): Promise<Session | undefined> {
  try {
    return await manager.touch(session.id);
  } catch (error) {
    if (isGone(error)) return undefined;
    if (error instanceof ConflictError) return session;
    throw error;
  }
}

/**
 * Whether a rolling session is due an extension: it has used up a minute of its ttl (or a tenth,
 * if shorter), and is not at its lifetime cap already (it is never extended past it).
 */
function isDue(session: Session): boolean {
  const { ttl, expiresAt, createdAt, maxAge } = session;
  const used = ttl - (expiresAt - Date.now());
  const capped = maxAge !== undefined && expiresAt >= createdAt + maxAge;
  return !capped && used >= touchTolerance(ttl);
}

/** Whether the request is local development over http (where `secure: false` is honoured). */
function isLocal(request: RequestLike): boolean {
  // Behind a proxy the Host header says where the proxy connected, not where the browser is.
  if (requestHeader(request, "forwarded") || requestHeader(request, "x-forwarded-host"))
    return false;
  if (requestHeader(request, "x-forwarded-proto")?.startsWith("https")) return false;
  return isLoopbackRequest(request.url, requestHeader(request, "host"));
}
