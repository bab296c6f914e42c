import { MAX_ID_LENGTH } from "./constants.ts";
import { InvalidSessionIdError, SessionNotFoundError } from "./errors.ts";
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
