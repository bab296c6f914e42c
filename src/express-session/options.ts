// The options of SessionManagerStore, and the one rule that turns a session's cookie into its
// time to live (as connect-redis does, to the millisecond rather than the second).
import type { SessionData } from "express-session";
import { type DurationUnit, parseDuration } from "../duration.ts";
import { BackendError, InvalidTtlError } from "../errors.ts";
import type { SessionManager } from "../manager.ts";
import type { SessionManagerOptions } from "../options.ts";

/** The namespace a store built from options uses when given none (connect-redis: `sess:`). */
export const STORE_NAMESPACE = "sess";

// connect-redis's default ttl: one day.
const DEFAULT_TTL_SECONDS = 86_400;

/** The store's own options: those of connect-redis that apply here. */
export interface StoreBehaviour {
  /**
   * The lifetime of a session whose cookie has no expiry (no `maxAge` or `expires`): a number of
   * **seconds**, as in connect-redis (`ttl: 3600` is an hour), or a duration string (`"1h"`).
   * A function of the session (returning seconds) decides every session's lifetime instead of
   * its cookie. Default `86400` (a day).
   */
  ttl?: number | `${number}${DurationUnit}` | ((session: SessionData) => number);
  /**
   * `touch` does nothing: a request that reads a session without changing it no longer extends
   * it on the server, which then ends `ttl` after its last save (a `set` still takes its expiry
   * from the cookie). Fewer writes; sessions kept open by activity alone end sooner. Default
   * `false`. As connect-redis's `disableTouch`.
   */
  disableTouch?: boolean;
}

/**
 * Options of `new SessionManagerStore(options)`: a `manager` of your own, or the options of
 * `new SessionManager(options)` (any backend of the root entry; `namespace` defaults to
 * `"sess"`), and the store's own `ttl` and `disableTouch`.
 */
export type SessionManagerStoreOptions = StoreBehaviour &
  (
    | (SessionManagerOptions & {
        /** None: the store builds its manager from these options (and closes it). */
        manager?: undefined;
      })
    | {
        /** The manager that keeps the sessions (yours to close); its namespace scopes the store. */
        manager: SessionManager<unknown>;
      }
  );

/** A session's time to live in ms (zero or less: it has ended), from its cookie or the options. */
export type Lifetime = (session: SessionData) => number;

/** The store's lifetime rule for `ttl` (checked here, so a bad one fails in the constructor). */
export function lifetimeOf(ttl: StoreBehaviour["ttl"]): Lifetime {
  if (typeof ttl === "function") return (session) => secondsToMs(ttl(session), "ttl()");
  const fallback =
    ttl === undefined
      ? DEFAULT_TTL_SECONDS * 1000
      : typeof ttl === "number"
        ? secondsToMs(ttl, "ttl")
        : parseDuration(ttl, "ttl");
  if (fallback <= 0) throw new InvalidTtlError(`ttl must be a positive duration, got ${ttl}`);
  return (session) => cookieTtl(session) ?? fallback;
}

/** Ms until the cookie expires, or `undefined` when it has no expiry (a browser-session cookie). */
function cookieTtl(session: SessionData): number | undefined {
  const cookie = (session as Partial<SessionData> | undefined)?.cookie as
    | { expires?: unknown; maxAge?: unknown }
    | undefined;
  const { expires, maxAge } = cookie ?? {};
  if (expires !== undefined && expires !== null && expires !== false) {
    const at = new Date(expires as string | number | Date).getTime();
    if (Number.isNaN(at)) {
      throw new InvalidTtlError(`cookie.expires must be a date, got ${JSON.stringify(expires)}`);
    }
    return Math.ceil(at - Date.now());
  }
  return typeof maxAge === "number" ? Math.ceil(maxAge) : undefined;
}

function secondsToMs(seconds: unknown, name: string): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) {
    throw new InvalidTtlError(`${name} must be a number of seconds, got ${String(seconds)}`);
  }
  return Math.ceil(seconds * 1000);
}

// connect-redis options with no counterpart here: ignoring one would change what the app asked
// for (sessions that never expire, a custom format) without a word.
const NOT_OFFERED: Record<string, string> = {
  disableTTL: "every session has an expiry here (give a long ttl instead)",
  serializer: "records are JSON (encryption: { key } encrypts them at rest)",
  scanCount: "listing reads the namespace's index and never scans",
};

/**
 * Refuses what connect-redis takes and this store does not, at once and saying so: its options
 * without a counterpart, and a node-redis client (the redis backend takes an ioredis client, or
 * a `url`), rather than a failed command later.
 */
export function checkMigrated(options: Record<string, unknown>): void {
  for (const [name, why] of Object.entries(NOT_OFFERED)) {
    if (options[name] !== undefined) {
      throw new BackendError(
        `${name} is an option of connect-redis, not of SessionManagerStore: ${why}`,
      );
    }
  }
  const client = options.client as { mGet?: unknown; mget?: unknown } | undefined;
  if (options.backend !== "redis" || !client || typeof client.mget === "function") return;
  if (typeof client.mGet === "function") {
    throw new BackendError(
      'client is a node-redis client (as connect-redis takes): backend "redis" takes an ioredis client, or a url',
    );
  }
}

/** Refuses a `manager` given together with options that would build another one. */
export function checkManagerOptions(options: object): void {
  const extra = Object.keys(options).filter(
    (key) => key !== "manager" && key !== "ttl" && key !== "disableTouch",
  );
  if (extra.length > 0) {
    throw new BackendError(
      `give SessionManagerStore either a manager or SessionManager options, got a manager and ${extra.join(", ")}`,
    );
  }
}
