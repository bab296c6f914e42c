// How the client reads the server's answers: the shapes of what `GET /v1/changes` says, which
// refusals the stores act on, which become the SDK's errors, and the checks of an answer's fields.
import { HTTPError, TimeoutError } from "ky";
import {
  BackendError,
  ConflictError,
  InvalidDataError,
  InvalidSessionIdError,
  InvalidTtlError,
  QuotaError,
} from "../errors.ts";
import type { Incoming } from "./clock.ts";

/**
 * Where `GET /v1/changes` goes on from: a position in the server's change log (a string), or its
 * clock (a number: a server whose store keeps no log, and outboxes written before logs).
 */
export type Cursor = number | string;

/**
 * What changed since a cursor: the sessions' current copies, and which are gone: every live
 * id (`live`: a clock answer, or a snapshot), or the ids removed since (`removed`: a log answer).
 */
export interface Changes {
  readonly cursor: Cursor;
  readonly changed: Incoming[];
  readonly live?: string[];
  readonly removed?: string[];
}

/** One answer of `GET /v1/changes`, checked: a log answer may have more pages, or say resync. */
export type ChangesPage = Changes & { readonly more?: boolean; readonly resync?: boolean };

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

/** A number that is one (not NaN, not infinite). */
export function isFiniteNumber(value: unknown): value is number {
  return Number.isFinite(value);
}

/** A change-log cursor: a string, never digits alone (those are the clock's). */
export function isLogCursor(value: unknown): value is string {
  return typeof value === "string" && value !== "" && !/^\d+$/.test(value);
}

/** A list of ids: strings only. */
export function isIds(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((id) => typeof id === "string");
}

/** An optional flag of an answer: absent or `true`. */
export function isFlag(value: unknown): boolean {
  return value === undefined || value === true;
}

/** What an answer the client cannot read rejects with. */
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
