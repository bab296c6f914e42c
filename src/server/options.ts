import { type Duration, parseDuration } from "../duration.ts";
import type { Logger, LogLevel } from "../log.ts";
import type { NodeBackendName } from "../stores/backends.ts";
import type { RedisClusterNodes } from "../stores/redis/client.ts";
import type { SessionStore } from "../stores/types.ts";

/** The stores a server names: memory (one process, tests) and the Node backends. */
export type ServerBackendName = "memory" | NodeBackendName;

/** How the server checks bearer tokens: a shared HS256 secret, or the issuer's JWKS URL. */
export type SessionServerAuth = (
  | {
      /** HS256 secret, at least 32 bytes (RFC 7518 §3.2). */
      secret: string | Uint8Array;
    }
  | {
      /**
       * URL of the issuer's JSON Web Key Set, fetched and cached by jose (10 minutes; a
       * token is checked again when the set is fetched again). `https`, or `http` on
       * 127.0.0.1, ::1 or localhost only. Needs `audience` (or `anyAudience: true`).
       */
      jwks: string;
    }
) & {
  /** Required `iss` claim. */
  issuer?: string;
  /**
   * Required `aud` claim (one of them). Required with `jwks`: an identity provider signs
   * tokens for every app it serves, and this is what tells the ones for this API apart.
   */
  audience?: string | string[];
  /** With `jwks` and no `audience`: accept tokens whatever their `aud` (issuers that set none). */
  anyAudience?: boolean;
  /** Refuse tokens issued (`iat`) longer ago than this, and tokens without `iat`. Default: no limit. */
  maxTokenAge?: Duration;
  /**
   * Accepted `alg` values. Default `["HS256"]` with `secret`; RS, PS, ES and EdDSA ones with
   * `jwks`. Never `"none"`, and never HMAC with `jwks` or a public-key algorithm with `secret`.
   */
  algorithms?: string[];
};

/** Size limits on what a request may send. */
export interface SessionServerLimits {
  /** Bytes of a request body. Default 64 KiB. */
  body?: number;
  /** Bytes of a session's data as JSON. Default 16 KiB. */
  data?: number;
  /** Characters of a session id, at most 256. Default 256. */
  id?: number;
  /**
   * Open event streams (`GET /v1/events`) of one owner in this process; one more is refused
   * with 429 `TOO_MANY_STREAMS`. A browser holds one per namespace, a Node manager one. Default 16.
   */
  streams?: number;
}

/** Options of `createSessionServer(options)`. */
export interface SessionServerOptions {
  /** Where sessions live: a store object, or a Node backend name. */
  backend: ServerBackendName | SessionStore;
  /** File or database path (`file`, `sqlite`). */
  path?: string;
  /** `"json"` (default) or `"csv"` (`file`). */
  format?: "json" | "csv";
  /** Table name (`sqlite`, `postgres`). */
  table?: string;
  /** First part of every key (`redis`, `memcached`). */
  prefix?: string;
  /** A bounded read cache in front of `postgres`, `redis` or `memcached`: see the README. */
  cache?: { max: number; ttl?: number };
  /** Connection URL (`postgres`, `redis`, `memcached`). */
  url?: string;
  /** Host and port of the database (postgres, redis, memcached); with `serve`, use `url`. */
  host?: string;
  /** Port of the database, beside `host`. */
  port?: number;
  /**
   * The nodes of a Redis Cluster (`redis`, instead of `url`, `host` and `port`): `[{ host, port }]`
   * or `"redis://host:port,redis://host:port"`. See `RedisStoreOptions.cluster`.
   */
  cluster?: RedisClusterNodes;
  /** Keeps apps apart in a shared database. Default `"sessionmanager"`. */
  namespace?: string;
  /** How bearer tokens are checked; the token's `sub` owns the sessions. */
  auth: SessionServerAuth;
  /** Where the API is mounted, such as `"/api"`. Default `""`. */
  basePath?: string;
  /** Origins that pages may call the API from. Default: none (same-origin only). */
  cors?: { origins: string[] };
  /**
   * How often an idle event stream (`GET /v1/events`) gets a heartbeat comment, so that proxies
   * keep it open. Default `"15s"`.
   */
  heartbeat?: Duration;
  /** Size limits of a request: body 64 KiB, data 16 KiB, ids 256 characters by default. */
  limits?: SessionServerLimits;
  /** Lifetime of a session created without `ttl`. Default `"30m"`. */
  defaultTtl?: Duration;
  /**
   * Longest ttl a client may ask for; longer ones (and later `expiresAt`s) are capped.
   * Default `"400d"`, so that every `expiresAt` is a valid date.
   */
  maxTtl?: Duration;
  /**
   * Most live sessions one owner may have: a create beyond it is `403 QUOTA_EXCEEDED`
   * (replacing, touching and removing are never refused for it). Default 1,000.
   */
  maxSessionsPerOwner?: number;
  /** How often expired records are deleted from the store. Default `"1m"`. */
  sweepInterval?: Duration;
  /** Receives log lines at `logLevel` and above. Default: none. */
  logger?: Logger;
  /** Default `"info"`; `"debug"` logs one line per request (ids shortened, never data or tokens). */
  logLevel?: LogLevel;
  /**
   * `GET <basePath>/metrics` in the Prometheus text format: requests, errors, latency, open
   * streams, whether the store answers, and the process's memory and event-loop delay. Off by
   * default. `{ token }` asks for `Authorization: Bearer <token>` (at least 32 characters of
   * `A-Z a-z 0-9 - . _ ~ + /`, such as `openssl rand -base64 32`); `true` asks for nothing, so
   * only where the route is reachable from a private network alone.
   */
  metrics?: boolean | SessionServerMetrics;
  /**
   * `GET <basePath>/health`: 200 `{"status":"ok"}` when the store answers a cheap call within 2 s,
   * else 503 `{"status":"unavailable"}`, for load balancers and readiness probes. No token, and
   * no details. Off by default.
   */
  health?: boolean;
}

/** `metrics` with a token: scrapes send it as `Authorization: Bearer <token>`. */
export interface SessionServerMetrics {
  /** At least 32 characters of `A-Z a-z 0-9 - . _ ~ + /` (and `=` at the end). */
  token: string;
}

/** `metrics` and `health`, checked: `metrics` is off, open, or behind `token`. */
export interface ResolvedOperations {
  readonly metrics: false | { readonly token: string | undefined };
  readonly health: boolean;
}

/** The options with defaults applied and durations parsed, as the server uses them. */
export interface ResolvedLimits {
  readonly body: number;
  readonly data: number;
  readonly id: number;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  /** `maxSessionsPerOwner`. */
  readonly sessions: number;
  /** `limits.streams`: open event streams per owner. */
  readonly streams: number;
}

const KIB = 1024;
const DEFAULT_BODY_BYTES = 64 * KIB;
const DEFAULT_DATA_BYTES = 16 * KIB;
const MAX_ID_CHARS = 256;
const DEFAULT_MAX_SESSIONS = 1000;
const DEFAULT_STREAMS_PER_OWNER = 16;
// The longest ttl without a maxTtl option (400 days).
const DEFAULT_MAX_TTL = "400d";
// Names of stores that only work in a page: a server given one would fail on every request.
const BROWSER_BACKENDS = new Set<string>(["localStorage", "sessionStorage", "indexedDB"]);

/** Limits and durations of `options`, checked: a bad one throws at once, not per request. */
export function resolveLimits(options: SessionServerOptions): ResolvedLimits {
  const { limits = {} } = options;
  const defaultTtl = parseDuration(options.defaultTtl ?? "30m", "defaultTtl");
  const maxTtl = parseDuration(options.maxTtl ?? DEFAULT_MAX_TTL, "maxTtl");
  return {
    body: positiveInteger(limits.body ?? DEFAULT_BODY_BYTES, "limits.body"),
    data: positiveInteger(limits.data ?? DEFAULT_DATA_BYTES, "limits.data"),
    id: Math.min(positiveInteger(limits.id ?? MAX_ID_CHARS, "limits.id"), MAX_ID_CHARS),
    streams: positiveInteger(limits.streams ?? DEFAULT_STREAMS_PER_OWNER, "limits.streams"),
    defaultTtl: Math.min(defaultTtl, maxTtl),
    maxTtl,
    sessions: positiveInteger(
      options.maxSessionsPerOwner ?? DEFAULT_MAX_SESSIONS,
      "maxSessionsPerOwner",
    ),
  };
}

/** Throws a `TypeError` for a backend no server can use (a browser store, nothing at all). */
export function checkBackend(
  backend: unknown,
): asserts backend is ServerBackendName | SessionStore {
  if (typeof backend === "object" && backend !== null) return;
  if (typeof backend === "string" && !BROWSER_BACKENDS.has(backend)) return;
  const given = typeof backend === "string" ? JSON.stringify(backend) : String(backend);
  throw new TypeError(`backend must be a server store (a name or a SessionStore), got ${given}`);
}

// A metrics token: RFC 6750's b64token, long enough that guessing it is hopeless.
const MIN_TOKEN_CHARS = 32;
const MIN_TOKEN_DISTINCT = 8;
const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `metrics` and `health` of `options`, checked: a bad one throws a `TypeError` at once. */
export function resolveOperations(options: {
  metrics?: boolean | SessionServerMetrics | undefined;
  health?: boolean | undefined;
}): ResolvedOperations {
  const { metrics = false, health = false } = options;
  if (typeof health !== "boolean") {
    throw new TypeError(`health must be a boolean, got ${describe(health)}`);
  }
  if (typeof metrics === "boolean") return { metrics: metrics && { token: undefined }, health };
  if (typeof metrics !== "object" || metrics === null) {
    throw new TypeError(`metrics must be a boolean or { token }, got ${describe(metrics)}`);
  }
  return { metrics: { token: metricsToken(metrics.token) }, health };
}

// A missing token is an error, not an open route: `{ token: process.env.X }` with X unset must
// not expose the metrics. Messages never repeat the token.
function metricsToken(token: unknown): string {
  if (typeof token !== "string") {
    throw new TypeError(
      `metrics.token must be a string (use metrics: true for no token), got ${typeof token}`,
    );
  }
  if (
    token.length < MIN_TOKEN_CHARS ||
    !TOKEN_CHARS.test(token) ||
    new Set(token).size < MIN_TOKEN_DISTINCT
  ) {
    throw new TypeError(
      `metrics.token must be at least ${MIN_TOKEN_CHARS} random characters of A-Z a-z 0-9 - . _ ~ + / (got ${token.length} characters)`,
    );
  }
  return token;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function positiveInteger(value: number, name: string): number {
  if (Number.isSafeInteger(value) && value > 0) return value;
  throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
}
