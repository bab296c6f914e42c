// How the client reads the server's answers: which refusals the stores act on, which become the
// SDK's errors, and the checks of an answer's fields.
import { HTTPError, TimeoutError } from "ky";
import {
  BackendError,
  ConflictError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  QuotaError,
} from "../errors.ts";

/** The methods the client sends. */
export type Method = "get" | "put" | "delete";

// The refusals the store acts on; a 404 with another code is a wrong URL, not a session.
export const ANSWERS: Record<number, string> = {
  404: "SESSION_NOT_FOUND",
  409: "SESSION_EXISTS",
  412: "CONFLICT",
};
// The SDK's error for a refusal the stores do not act on (401 is an `AuthError`), by status, else
// by code; any other is a `BackendError`. A CONFLICT here (409) is the server's: a write kept
// losing to other writers.
export const REFUSALS: Record<string, new (message: string) => Error> = {
  413: InvalidDataError,
  INVALID_ID: InvalidSessionIdError,
  INVALID_TTL: InvalidTtlError,
  INVALID_DATA: InvalidDataError,
  CONFLICT: ConflictError,
  QUOTA_EXCEEDED: QuotaError,
};

export function isFiniteNumber(value: unknown): value is number {
  return Number.isFinite(value);
}

/** A change-log cursor: a string, never digits alone (those are the clock's). */
export function isLogCursor(value: unknown): value is string {
  return typeof value === "string" && value !== "" && !/^\d+$/.test(value);
}

export function isIds(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((id) => typeof id === "string");
}

/** An optional flag of an answer: absent or `true`. */
export function isFlag(value: unknown): boolean {
  return value === undefined || value === true;
}

export function malformed(): BackendError {
  return new BackendError("the session server sent a malformed list");
}

/**
 * A request that got no answer to act on: the network, a timeout, a 5xx, or `close()`. The
 * message names the resource, not the id (ids may be secrets).
 */
export function unreachable(error: unknown, method: Method, path: string): BackendError {
  const status = (error instanceof HTTPError && error.response.status) || undefined;
  const why = status
    ? `the session server answered ${status}`
    : error instanceof TimeoutError
      ? "timed out"
      : error;
  const what = `${method.toUpperCase()} ${path.split("/")[0]} failed: ${why}`;
  return new BackendError(what, { cause: error, status });
}
