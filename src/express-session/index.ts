/**
 * An express-session `Store` on any backend of sessionmanager: `new SessionManagerStore({ backend:
 * "redis", url })` in place of connect-redis's `new RedisStore({ client })`. Needs
 * `express-session` (an optional peer dependency).
 * @packageDocumentation
 */
export type { Callback } from "./callback.ts";
export type { SessionManagerStoreOptions, StoreBehaviour } from "./options.ts";
export { type ListedSession, SessionManagerStore } from "./store.ts";
