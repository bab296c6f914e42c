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
): SessionRecord {
  return Object.freeze({ id, data, createdAt, updatedAt, expiresAt, ttl, version });
}

/** `now + ttl`, or `InvalidTtlError` if that is past the latest time a `Date` can hold. */
export function expiresAfter(now: number, ttl: number): number {
  const at = now + ttl;
  if (at <= MAX_DATE_MS) return at;
  throw new InvalidTtlError(
    `ttl of ${ttl} ms would end after the latest date a Date can hold (${new Date(MAX_DATE_MS).toISOString()})`,
  );
}

/** `current` if it is a live session, else `SessionNotFoundError`. */
export function live(id: string, current: SessionRecord | undefined, now: number): SessionRecord {
  if (!current || current.expiresAt <= now) throw new SessionNotFoundError(id);
  return current;
}

/** Throws `InvalidSessionIdError` unless `id` is a string of 1 to 256 characters. */
export function checkId(id: unknown): asserts id is string {
  if (typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH) return;
  const given =
    typeof id === "string"
      ? id.length > 0
        ? `a string of ${id.length} characters`
        : "an empty string"
      : typeof id;
  throw new InvalidSessionIdError(
    `id must be a non-empty string of at most 256 characters, got ${given}`,
  );
}
