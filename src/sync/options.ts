import type { Duration } from "../duration.ts";

/** Options of the remote store (and of the server a replica syncs with). */
export interface RemoteOptions {
  /** Base URL of the server, with its `basePath`: `"https://example.com/api"`. */
  url: string;
  /**
   * A bearer token (a JWT whose `sub` owns the sessions), or a function that gets one. The
   * function is called once more when the server answers 401, and the request retried once.
   */
  token: string | (() => string | Promise<string>);
  /** Time limit of each attempt of a request. Default `"10s"`. */
  timeout?: Duration;
  /**
   * Retries of a request that may be repeated safely (reads, deletes, conditional writes) after
   * a network failure, a timeout or a 5xx, with growing delays. Default 2.
   */
  retry?: number;
  /** The `fetch` to use instead of the global one (tests, SSR, a server's own `fetch`). */
  fetch?: typeof fetch;
  /**
   * How often to ask the server what other clients changed (also when the page wakes), so
   * that their changes fire events here too. Default `"30s"`.
   */
  pullInterval?: Duration;
  /**
   * Keeps one event stream (`GET /v1/events`) open to hear other clients' changes as they
   * happen, each followed by a pull, with polling at `pullInterval` as the fallback. In a
   * browser one tab holds it per namespace when the tabs share the local store (a Web Lock);
   * elsewhere one per store. A server without a change feed (Memcached) answers 501: then
   * only polling. In Node an open stream keeps the process alive until `close()`. Default `true`.
   */
  live?: boolean;
}
