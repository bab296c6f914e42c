// Fastify: a plugin that loads the request's session into `request.session` (onRequest) and adds
// its Set-Cookie to the reply (onSend, which also runs for error replies). It is marked as
// fastify-plugin marks plugins (`skip-override`), so the decorator and hooks apply to the scope
// it is registered in and to every route of that scope, not just to an encapsulated child.
// Fastify itself is never imported: the types below are the parts of it the plugin touches.
import type { CookieSession, CookieSessions, RequestLike } from "./types.ts";

/** The request as the plugin sees it: Fastify's `FastifyRequest` fits it. */
export interface FastifyRequestLike {
  /** The request's headers (the Cookie, and the Host the Secure rule looks at). */
  headers: Record<string, string | string[] | undefined>;
  /** The request's path. */
  url: string;
}

/** The reply as the plugin sees it: Fastify's `FastifyReply` fits it. */
export interface FastifyReplyLike {
  /** Adds a header; Fastify appends each Set-Cookie rather than replacing the one before. */
  header(name: string, value: string): unknown;
}

/** The instance as the plugin sees it: Fastify's `FastifyInstance` fits it. */
export interface FastifyInstanceLike {
  /** Declares `request.session` (set by the onRequest hook). */
  decorateRequest(property: "session", value: null): unknown;
  /** Loads the session before the route. */
  addHook(
    name: "onRequest",
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void>,
  ): unknown;
  /** Adds the cookie to the reply, whichever route or error handler made it. */
  addHook(
    name: "onSend",
    hook: (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      payload: unknown,
    ) => Promise<unknown>,
  ): unknown;
}

/** What `fastifySessions()` returns: an async Fastify plugin, for `app.register()`. */
export type FastifySessionsPlugin = (
  instance: FastifyInstanceLike,
  options: Record<never, never>,
) => Promise<void>;

/**
 * A Fastify plugin: `request.session` is the request's session, and its cookie goes out with
 * the reply. Register it before the routes that use it. For `request.session`'s type, add
 * `declare module "fastify" { interface FastifyRequest { session: CookieSession<Data> } }`.
 * @example
 * await app.register(fastifySessions(sessions));
 * app.post("/login", async (request) => { await request.session.rotate({ user: "ada" }); return {}; });
 */
export function fastifySessions<Data>(sessions: CookieSessions<Data>): FastifySessionsPlugin {
  const loaded = new WeakMap<object, CookieSession<Data>>();
  const plugin: FastifySessionsPlugin = async (instance) => {
    instance.decorateRequest("session", null);
    instance.addHook("onRequest", async (request) => {
      const session = await sessions.load(request as RequestLike);
      loaded.set(request, session);
      (request as FastifyRequestLike & { session: CookieSession<Data> }).session = session;
    });
    instance.addHook("onSend", async (request, reply, payload) => {
      const session = loaded.get(request);
      // No session when loading it failed: the error's reply goes out as it is.
      if (session)
        for (const value of sessions.setCookies(session)) reply.header("set-cookie", value);
      return payload;
    });
  };
  // What fastify-plugin sets: no encapsulation, a name in errors, the Fastify versions it fits.
  return Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "sessionmanager-js/cookies",
    [Symbol.for("plugin-meta")]: { name: "sessionmanager-js/cookies", fastify: ">=4" },
  });
}
