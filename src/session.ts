import { MAX_DATE_MS, MAX_ID_LENGTH } from "./constants.ts";
import { InvalidSessionIdError, InvalidTtlError, SessionNotFoundError } from "./errors.ts";
import type { SessionRecord } from "./types.ts";

/** A new frozen record: every record of the manager is made here, so all share one shape. */
export function record(
  id: string,
  data: unknown,
  createdAt: number,
  updatedAt: number,
  expiresAt: number,
  ttl: number,
  version: number,
  maxAge?: number,
): SessionRecord {
  return Object.freeze(
    maxAge === undefined
      ? { id, data, createdAt, updatedAt, expiresAt, ttl, version }
      : { id, data, createdAt, updatedAt, expiresAt, ttl, version, maxAge },
  );
}

/** `at`, or the end of the session's whole lifetime (`createdAt + maxAge`) if that comes first. */
export function capped(
  at: number,
  session: { readonly createdAt: number; readonly maxAge?: number | undefined },
): number {
  const { createdAt, maxAge } = session;
  return maxAge === undefined ? at : Math.min(at, createdAt + maxAge);
}

/** `now + ttl`, or `InvalidTtlError` if that is past the latest time a `Date` can hold. */
export function expiresAfter(now: number, ttl: number): number {
  const at = now + ttl;
  if (at <= MAX_DATE_MS) return at;
  throw new InvalidTtlError(
    `ttl of ${ttl} ms would end after the latest date a Date can hold (${new Date(MAX_DATE_MS).toISOString()})`,
  );
}

/**
 * Session `c` touched at `now`: ending `ttl` (its own by default) later, never past its `maxAge`,
 * one version on; its data, `createdAt` and `ttl` kept.
 */
export function touched(c: SessionRecord, now: number, ttl: number = c.ttl): SessionRecord {
  const expiresAt = capped(expiresAfter(now, ttl), c);
  return record(c.id, c.data, c.createdAt, now, expiresAt, c.ttl, c.version + 1, c.maxAge);
}

/**
 * How far a touch must move an expiry to be worth a store write: a minute, or a tenth of a
 * shorter `ttl`. Server-side sessions (cookie sessions' rolling expiry, the express-session store)
 * leave nearer expiries as they are, so an active user costs a write a minute, not one a request;
 * an idle session may end up to that much early.
 */
export function touchTolerance(ttl: number): number {
  return Math.min(60_000, ttl / 10);
}

/** `current` if it is a live session, else `SessionNotFoundError`. */
export function live(id: string, current: SessionRecord | undefined, now: number): SessionRecord {
  if (!current || current.expiresAt <= now) throw new SessionNotFoundError(id);
  return current;
}

// A NUL (PostgreSQL text cannot hold one) or a lone surrogate (not UTF-8: Redis, files and URLs
// would change it): with the `u` flag a paired surrogate is one code point and does not match.
// Not String.prototype.isWellFormed: ES2024, after the browsers the bundle targets.
const UNSTORABLE = /[\0\uD800-\uDFFF]/u;

/**
 * Throws `InvalidSessionIdError` unless `id` is a string of 1 to 256 characters, well-formed
 * UTF-16 (no lone surrogate), without U+0000, and not "." or ".." (URLs drop those path segments,
 * so no HTTP client could reach such a session).
 */
export function checkId(id: unknown): asserts id is string {
  const given =
    typeof id !== "string"
      ? typeof id
      : UNSTORABLE.test(id)
        ? "a NUL or lone surrogate"
        : id === "." || id === ".."
          ? `"${id}", which no URL can carry as a path segment`
          : id.length > 0 && id.length <= MAX_ID_LENGTH
            ? ""
            : `${id.length} characters`;
  if (given) {
    throw new InvalidSessionIdError(
      `id must be 1 to 256 characters, no NUL or lone surrogate, got ${given}`,
    );
  }
}

/**
 * A new random session id: 128 bits from `crypto.getRandomValues`, base64url (22 characters).
 * Use it for ids that act as secrets, such as the value of a session cookie.
 * @example
 * await sm.add(createSessionId(), { data: { user: "ada" } })
 */
export function createSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
