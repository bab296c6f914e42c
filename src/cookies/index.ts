/**
 * Cookie sessions for server-rendered apps (`sessionmanager-js/cookies`): a signed, HttpOnly,
 * Secure, SameSite=Lax cookie that holds only a random id, the data kept on the server in a
 * SessionManager. {@link cookieSessions} is the framework-neutral core (web Request and Headers,
 * or Node's request and response); {@link honoSessions}, {@link fastifySessions},
 * {@link nodeSessions}, {@link nextSessions}, {@link h3Sessions} and {@link svelteKitSessions} fit
 * it into Hono, Fastify, plain `node:http`, Next.js, Nuxt/H3 and SvelteKit. See the Cookie
 * sessions guide.
 * @packageDocumentation
 */
// Hand-picked: the signing, the cookie's wire format and the header plumbing stay internal.
export type {
  FastifyInstanceLike,
  FastifyReplyLike,
  FastifyRequestLike,
  FastifySessionsPlugin,
} from "./fastify.ts";
export { fastifySessions } from "./fastify.ts";
export type { H3EventLike, H3NodeResponse } from "./h3.ts";
export { h3Session, h3Sessions } from "./h3.ts";
export type { SessionEnv, SessionVariables } from "./hono.ts";
export { honoSessions } from "./hono.ts";
export type { NextCookieOptions, NextCookieStore, NextSessions } from "./next.ts";
export { nextSessions } from "./next.ts";
export type { NodeResponseLike, NodeSessionsOptions } from "./node.ts";
export { nodeSessions } from "./node.ts";
export { cookieSessions } from "./sessions.ts";
export type { SvelteKitEventLike } from "./sveltekit.ts";
export { svelteKitSessions } from "./sveltekit.ts";
export type {
  CookieAttributes,
  CookieSession,
  CookieSessionOptions,
  CookieSessions,
  RequestLike,
  ResponseLike,
} from "./types.ts";
