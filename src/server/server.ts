import { DEFAULT_NAMESPACE } from "../constants.ts";
import { parseDuration } from "../duration.ts";
import { createLog, type LogFns, shortId } from "../log.ts";
import { openStore } from "../stores/open.ts";
import { backendLoader } from "../stores/resolve.ts";
import { withChangeLog } from "../stores/shared/log.ts";
import type { SessionStore } from "../stores/types.ts";
import { createApp, json, stampTime } from "./app.ts";
import { createVerifier } from "./auth.ts";
import { allowOrigin, type CorsOptions, preflight } from "./cors.ts";
import { EventStreams } from "./events.ts";
import { createMetrics, type Metrics, tagErrorCode } from "./metrics.ts";
import { checkBackend, resolveLimits, type SessionServerOptions } from "./options.ts";
import { OwnerSessions } from "./sessions.ts";
import { startSweep } from "./sweep.ts";

/** A sessionmanager server as a web-standard fetch handler. */
export interface SessionServer {
  /** Answers one request of the API; never rejects (failures are JSON error responses). */
  fetch(request: Request): Promise<Response>;
  /** Stops the sweep, waits for requests under way, closes the store. Later requests get 503. */
  close(): Promise<void>;
}

const LOG_PREFIX = "sessionmanager:server";
// No session has this id (ids never hold NUL): reading it costs one lookup, and finds nothing.
const HEALTH_PROBE_ID = "\u0000health";
const SESSION_IN_PATH = /(\/sessions\/)([^/]+)/;

/**
 * The HTTP API of src/protocol.ts over one store, for any runtime with `fetch` (Node, Bun,
 * Deno, workers) or framework (mount `fetch` on a route). Each owner (the token's `sub`) sees
 * only their own sessions. Nothing is kept in memory between requests, so any number of
 * servers can share one database. Bad options throw at once.
 * @example
 * const server = createSessionServer({ backend: "redis", url: process.env.REDIS_URL, auth: { secret } });
 * Bun.serve({ fetch: server.fetch });
 */
export function createSessionServer(options: SessionServerOptions): SessionServer {
  checkBackend(options.backend);
  return new Server(options);
}

class Server implements SessionServer {
  private readonly handler: (request: Request) => Promise<Response>;
  private readonly store: Promise<SessionStore>;
  private readonly stopSweep: () => Promise<void>;
  private readonly cors: CorsOptions | undefined;
  private readonly log: LogFns;
  private readonly inflight = new Set<Promise<Response>>();
  private readonly streams: EventStreams;
  private readonly metrics: Metrics;
  private closing: Promise<void> | undefined;

  constructor(options: SessionServerOptions) {
    const limits = resolveLimits(options);
    const verify = createVerifier(options.auth);
    const basePath = normalizeBasePath(options.basePath);
    // Before the store opens: bad options throw with nothing to close.
    this.metrics = createMetrics({
      metrics: options.metrics,
      health: options.health,
      basePath,
      check: () => this.ping(),
    });
    const sweepMs = parseDuration(options.sweepInterval ?? "1m", "sweepInterval", true);
    this.log = createLog(options.logger, options.logLevel ?? "info", LOG_PREFIX);
    this.cors = options.cors && { origins: [...options.cors.origins] };
    let storeName = typeof options.backend === "string" ? options.backend : options.backend.name;
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    // The backend options (path, url, host, port) go to the store beside its name. An unknown
    // name throws here, at once.
    const makeStore = backendLoader({ ...options, namespace });
    this.store = this.open(makeStore, namespace).then((store) => {
      storeName = store.name;
      return store;
    });
    const sessions = this.store.then((store) => new OwnerSessions(store, limits.defaultTtl));
    const heartbeat = parseDuration(options.heartbeat ?? "15s", "heartbeat");
    this.streams = new EventStreams(limits.streams, heartbeat, (open) =>
      this.metrics.streamCount(open),
    );
    this.handler = createApp({
      sessions: () => sessions,
      verify,
      limits,
      basePath,
      storeName: () => storeName,
      log: this.log,
      streams: this.streams,
    });
    this.stopSweep = startSweep(this.store, sweepMs, this.log);
  }

  // An arrow property: frameworks call `server.fetch` detached from `server`.
  readonly fetch = async (request: Request): Promise<Response> => {
    const started = Date.now();
    const response = await this.answer(request);
    this.metrics.observe(request, response, Date.now() - started);
    stampTime(response);
    if (this.cors) allowOrigin(response, request, this.cors);
    this.log.debug?.(
      `${request.method} ${loggedPath(request.url)} ${response.status} ${Date.now() - started}ms`,
    );
    return response;
  };

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.metrics.close();
      await this.streams.close();
      await this.stopSweep();
      await Promise.allSettled(this.inflight);
      await (await this.store).close?.();
    })();
    return this.closing;
  }

  private async answer(request: Request): Promise<Response> {
    // `/metrics` and `/health` (when on) answer while closing too: health says "unavailable".
    const operations = this.metrics.handle(request);
    if (operations) return operations;
    if (this.closing) return closed();
    const early = preflight(request, this.cors, this.log);
    if (early) return early;
    const pending = this.handler(request).catch((error: unknown) => {
      // The router answers every error itself: this is a bug, kept from the client.
      this.log.error?.(`${request.method} failed: ${String(error)}`);
      return internalError();
    });
    this.inflight.add(pending);
    try {
      return await pending;
    } finally {
      this.inflight.delete(pending);
    }
  }

  /** A cheap read for `/health` and `sessionmanager_store_up`: rejects when the store cannot answer. */
  private async ping(): Promise<void> {
    if (this.closing) throw new Error("the server is closing");
    await (await this.store).get(HEALTH_PROBE_ID);
  }

  /** Opens the store; one that fails is logged, and its calls answer 503 until it works. */
  private async open(
    makeStore: () => Promise<SessionStore>,
    namespace: string,
  ): Promise<SessionStore> {
    const report = (error: Error) => this.log.error?.(`the store failed: ${error.message}`);
    return changeFeed((await openStore(makeStore, { report }, namespace)).store);
  }
}

/**
 * The store with a change log for `GET /v1/changes` and `/v1/events`: its own (Redis,
 * PostgreSQL), or one kept in this process (`withChangeLog`), as far as the store's
 * `capabilities.processLog` says such a log can serve: see `StoreCapabilities`.
 */
function changeFeed(store: SessionStore): SessionStore {
  const processLog = store.capabilities?.processLog;
  if (processLog === "none") return store;
  return withChangeLog(store, { feed: processLog === "complete" });
}

/** `""` or `"/api"`: a leading slash, no trailing one. */
function normalizeBasePath(path = ""): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" || trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** The path as logs show it: session ids can be secrets, so shortened. Never the query. */
function loggedPath(url: string): string {
  const { pathname } = new URL(url);
  return pathname.replace(SESSION_IN_PATH, (_, head: string, id: string) => head + shortId(id));
}

function closed(): Response {
  const response = json(
    { error: { code: "BACKEND_UNAVAILABLE", message: "the server is closed" } },
    503,
  );
  tagErrorCode(response, "BACKEND_UNAVAILABLE");
  return response;
}

function internalError(): Response {
  const response = json({ error: { code: "INTERNAL", message: "internal server error" } }, 500);
  tagErrorCode(response, "INTERNAL");
  return response;
}
