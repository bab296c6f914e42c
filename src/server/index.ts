/**
 * The sync server (Node, and any runtime with `fetch`): {@link createSessionServer} makes a
 * web-standard `fetch` handler to mount in a framework, {@link serve} listens on a port. A JWT's
 * `sub` owns the sessions.
 * @packageDocumentation
 */
// The server entry (`sessionmanager/server`), for Node and any runtime with `fetch`. Hono, valibot
// and jose's JWT verification are imported from here only, never by the browser entries; the
// Node HTTP adapter loads only when `serve` is called. Internals (the routes, the owner scoping,
// the body checks) stay out so they can change without a major.

// The wire types, for code that talks to the API without the SDK.
export type {
  ChangesBody,
  ErrorBody,
  ListBody,
  PutBody,
  TouchBody,
  WireSession,
} from "../protocol.ts";
export type {
  ServerBackendName,
  SessionServerAuth,
  SessionServerLimits,
  SessionServerMetrics,
  SessionServerOptions,
} from "./options.ts";
export type { RunningServer, ServeOptions } from "./serve.ts";
export { serve } from "./serve.ts";
export type { SessionServer } from "./server.ts";
export { createSessionServer } from "./server.ts";
