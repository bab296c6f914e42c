/**
 * Cookie sessions for server-rendered apps (`sessionmanager-js/cookies`): a signed, HttpOnly,
 * Secure, SameSite=Lax cookie that holds only a random id, the data kept on the server in a
 * {@link SessionManager}. {@link cookieSessions} is the framework-neutral core (web Request and
 * Headers, or Node's request and response); {@link honoSessions}, {@link fastifySessions} and
 * {@link nodeSessions} fit it into Hono, Fastify and plain `node:http`. See the Cookie sessions guide.
 * @packageDocumentation
 */
export { honoSessions, type SessionVariables } from "./hono.ts";
export { cookieSessions } from "./sessions.ts";
export type {
  CookieAttributes,
  CookieSession,
  CookieSessionOptions,
  CookieSessions,
  RequestLike,
  ResponseLike,
} from "./types.ts";
