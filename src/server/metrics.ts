// The server's operations routes: `GET <basePath>/metrics` (Prometheus) and `GET <basePath>/health`,
// and the counts behind them. Both are off by default; off, `createMetrics` answers a shared
// object of no-ops, so the server calls it on every request at no cost worth measuring.

import { API_VERSION } from "../protocol.ts";
import { type HealthCheck, healthResponse, type StoreProbe, storeProbe } from "./health.ts";
import { resolveOperations, type SessionServerOptions } from "./options.ts";
import { DURATION_BUCKETS, EXPOSITION_TYPE, Histogram, render, Scalar } from "./prometheus.ts";
import { type RuntimeFigures, runtimeFigures } from "./runtime-figures.ts";

/** What `createMetrics` needs: the two options as the user gave them, and the store check. */
export interface MetricsOptions {
  metrics?: SessionServerOptions["metrics"] | undefined;
  health?: boolean | undefined;
  /** A cheap store call for `/health` and `sessionmanager_store_up`; rejects when it fails. */
  check?: HealthCheck | undefined;
  /** Where the API is mounted (`""` or `"/api"`, no trailing slash): routes are under it. */
  basePath?: string | undefined;
}

/** The counts of one server, and its `/metrics` and `/health` routes. */
export interface Metrics {
  /**
   * Counts a request answered with `response` in `ms`. `route` is its pattern; by default the
   * one `routePattern` finds in the request's path (worked out only with the metrics on).
   */
  observe(request: Request, response: Response, ms: number, route?: string): void;
  /** An event stream opened. */
  streamOpened(): void;
  /** An event stream ended. */
  streamClosed(): void;
  /** The number of event streams open now; a rise counts as streams opened. */
  streamCount(open: number): void;
  /** Whether the store answered its last call (also set by each scrape when there is a check). */
  setStoreUp(up: boolean): void;
  /**
   * The answer to `GET <basePath>/metrics` or `GET <basePath>/health` (and HEAD); undefined for
   * every other request. `basePath` defaults to the one of the options.
   */
  handle(request: Request, basePath?: string): Promise<Response> | undefined;
  /** Stops the event-loop sampler. */
  close(): void;
}

const NOOP: Metrics = Object.freeze({
  observe() {},
  streamOpened() {},
  streamClosed() {},
  streamCount() {},
  setStoreUp() {},
  handle: () => undefined,
  close() {},
});

// Label values are bounded: a label seen for the first time past these many values is counted
// as "other", so a client cannot grow the scrape (or the server's memory) by sending odd requests.
const MAX_ROUTES = 32;
const MAX_CODES = 48;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const CODE_SHAPE = /^[A-Z][A-Z0-9_]{0,39}$/;
const ROUTE_SHAPE = /^(\/[A-Za-z0-9/:._-]{0,63}|unmatched)$/;
const OTHER = "other";
const MS_PER_SECOND = 1000;

// Codes of error answers, set where the error body is made (see `tagErrorCode`).
const errorCodes = new WeakMap<Response, string>();

/**
 * Records the `code` of an error answer for `sessionmanager_errors_total`, so that counting it
 * needs no second read of the body. An answer of status 400 or more without one counts as
 * `HTTP_<status>`.
 */
export function tagErrorCode(response: Response, code: string): void {
  errorCodes.set(response, code);
}

/**
 * The metrics and health routes of a server as `options` ask, or no-ops when both are off.
 * Bad options throw a `TypeError` at once.
 * @example
 * const metrics = createMetrics({ metrics: { token }, health: true, check: () => ping(store) });
 * const answer = metrics.handle(request) ?? (await app(request));
 * metrics.observe(request, answer, Date.now() - started);
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { metrics, health } = resolveOperations(options);
  if (!metrics && !health) return NOOP;
  const probe = options.check && storeProbe(options.check);
  return new Registry(metrics || undefined, health, probe, options.basePath ?? "");
}

/**
 * The pattern of `pathname` under `basePath`, for the `route` label: the API's routes with
 * `:id` for a session id (ids can be secrets, and one series per id would have no bound),
 * `/metrics`, `/health`, or `unmatched`.
 */
export function routePattern(pathname: string, basePath: string): string {
  if (!pathname.startsWith(basePath)) return "unmatched";
  const path = pathname.slice(basePath.length);
  const v1 = `/${API_VERSION}`;
  if (path === "/metrics" || path === "/health") return path;
  if (!path.startsWith(`${v1}/`)) return "unmatched";
  const [resource, id, action, ...rest] = path.slice(v1.length + 1).split("/");
  if (rest.length > 0) return "unmatched";
  if (resource === "sessions") {
    if (id === undefined) return `${v1}/sessions`;
    if (id === "") return "unmatched";
    if (action === undefined) return `${v1}/sessions/:id`;
    return action === "touch" ? `${v1}/sessions/:id/touch` : "unmatched";
  }
  const known = resource === "changes" || resource === "events";
  return known && id === undefined ? `${v1}/${resource}` : "unmatched";
}

class Registry implements Metrics {
  private readonly requests = new Scalar(
    "sessionmanager_requests_total",
    "Requests answered, by method, route pattern and status.",
    "counter",
    ["method", "route", "status"],
  );
  private readonly errors = new Scalar(
    "sessionmanager_errors_total",
    "Requests answered with an error (status 400 or more), by error code.",
    "counter",
    ["code"],
  );
  private readonly durations = new Histogram(
    "sessionmanager_request_duration_seconds",
    "Time from a request to its response (to the start of an event stream), by method and route.",
    ["method", "route"],
    DURATION_BUCKETS,
  );
  private readonly openStreams = new Scalar(
    "sessionmanager_open_streams",
    "Event streams open now.",
    "gauge",
  );
  private readonly streamsOpened = new Scalar(
    "sessionmanager_streams_opened_total",
    "Event streams opened since the server started.",
    "counter",
  );
  private readonly storeUp = new Scalar(
    "sessionmanager_store_up",
    "1 when the store answered its last call, 0 when it failed.",
    "gauge",
  );
  private readonly routes = new Set<string>();
  private readonly codes = new Set<string>();
  private readonly exposed: { token: string | undefined } | undefined;
  private readonly health: boolean;
  private readonly probe: StoreProbe | undefined;
  private readonly runtime: RuntimeFigures | undefined;
  private readonly tokenDigest: Promise<Uint8Array> | undefined;
  private readonly basePath: string;
  private streams = 0;

  constructor(
    exposed: { token: string | undefined } | undefined,
    health: boolean,
    probe: StoreProbe | undefined,
    basePath: string,
  ) {
    this.exposed = exposed;
    this.health = health;
    this.probe = probe;
    this.basePath = basePath;
    // Counting costs only with the metrics on: with `health` alone, nothing reads the counts.
    if (!exposed) return;
    this.openStreams.set(0);
    this.streamsOpened.set(0);
    this.runtime = runtimeFigures();
    if (exposed.token !== undefined) this.tokenDigest = digest(exposed.token);
  }

  observe(request: Request, response: Response, ms: number, route?: string): void {
    if (!this.exposed) return;
    const method = METHODS.has(request.method) ? request.method : OTHER;
    const given = route ?? routePattern(pathOf(request.url), this.basePath);
    const pattern = this.bounded(given, ROUTE_SHAPE, this.routes, MAX_ROUTES);
    const { status } = response;
    this.requests.inc([method, pattern, String(status)]);
    this.durations.observe(ms / MS_PER_SECOND, [method, pattern]);
    if (status < 400) return;
    const code = errorCodes.get(response) ?? `HTTP_${status}`;
    this.errors.inc([this.bounded(code, CODE_SHAPE, this.codes, MAX_CODES)]);
  }

  streamOpened(): void {
    this.streamCount(this.streams + 1);
  }

  streamClosed(): void {
    this.streamCount(this.streams - 1);
  }

  streamCount(open: number): void {
    if (!this.exposed) return;
    const now = Math.max(0, open);
    if (now > this.streams) this.streamsOpened.inc([], now - this.streams);
    this.streams = now;
    this.openStreams.set(now);
  }

  setStoreUp(up: boolean): void {
    this.storeUp.set(up ? 1 : 0);
  }

  handle(request: Request, basePath: string = this.basePath): Promise<Response> | undefined {
    if (request.method !== "GET" && request.method !== "HEAD") return undefined;
    const pathname = pathOf(request.url);
    if (this.exposed && pathname === `${basePath}/metrics`) return this.scrape(request);
    if (this.health && pathname === `${basePath}/health`) return this.healthAnswer();
    return undefined;
  }

  close(): void {
    this.runtime?.close();
  }

  private async healthAnswer(): Promise<Response> {
    // Without a check there is nothing to ask: the process answers, so it is up.
    const probe = this.probe ?? { up: async () => true };
    const response = await healthResponse(probe);
    this.setStoreUp(response.ok);
    return response;
  }

  private async scrape(request: Request): Promise<Response> {
    if (!(await this.authorized(request))) return unauthorized();
    if (this.probe) this.setStoreUp(await this.probe.up());
    return new Response(this.text(), {
      headers: { "content-type": EXPOSITION_TYPE, "cache-control": "no-store" },
    });
  }

  /** The registry in the text format, the process's figures last. */
  text(): string {
    const reading = this.runtime?.read() ?? {};
    const gauge = (name: string, help: string, value: number | undefined) => {
      const metric = new Scalar(name, help, "gauge");
      if (value !== undefined) metric.set(value);
      return value === undefined ? [] : [metric];
    };
    return render([
      this.requests,
      this.errors,
      this.durations,
      this.openStreams,
      this.streamsOpened,
      this.storeUp,
      ...gauge("process_resident_memory_bytes", "Resident memory in bytes.", reading.rssBytes),
      ...gauge("nodejs_heap_size_used_bytes", "V8 heap in use in bytes.", reading.heapUsedBytes),
      ...gauge(
        "nodejs_eventloop_lag_p99_seconds",
        "99th percentile of the event-loop delay since the previous scrape, in seconds.",
        reading.loopDelayP99Seconds,
      ),
    ]);
  }

  /** No token asked, or the request's bearer token is the token (compared in constant time). */
  private async authorized(request: Request): Promise<boolean> {
    if (!this.tokenDigest) return true;
    const sent = /^Bearer +(\S+) *$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (sent === undefined) return false;
    // Digests of both: equal lengths, so the comparison's time says nothing of the token's length.
    return sameBytes(await digest(sent), await this.tokenDigest);
  }

  /** `value` as a label, if it has the shape and is one of the first `max` seen; else "other". */
  private bounded(value: string, shape: RegExp, seen: Set<string>, max: number): string {
    if (seen.has(value)) return value;
    if (!shape.test(value) || seen.size >= max) return OTHER;
    seen.add(value);
    return value;
  }
}

/**
 * The path of a request's URL, which `Request` has made absolute and normalised: what
 * `new URL(url).pathname` gives, without parsing the whole URL again (a third of `observe`).
 */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

async function digest(text: string): Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Equal bytes, in a time that does not depend on where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

function unauthorized(): Response {
  const body = { error: { code: "UNAUTHORIZED", message: "a valid metrics token is required" } };
  return new Response(JSON.stringify(body), {
    status: 401,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "www-authenticate": 'Bearer realm="metrics"',
      "cache-control": "no-store",
    },
  });
}
