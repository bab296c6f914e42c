// The HTTP API between the remote client (src/sync/client.ts, in pages) and the server
// (src/server/), version 1. Both sides import these names, so they cannot drift apart. Kept free
// of runtime dependencies: the browser bundle carries it.
//
// Every route is under `${basePath}/v1` and needs `Authorization: Bearer <JWT>`; the JWT's `sub`
// owns the sessions, and a request never sees another owner's sessions (their ids included).
//
//   GET    /v1/sessions?limit=&next=      -> 200 ListBody: a page of the owner's live sessions
//   DELETE /v1/sessions                   -> 200 { removed: number }              clear
//   GET    /v1/sessions/:id               -> 200 { session }  | 404
//   PUT    /v1/sessions/:id  PutBody      -> 201 { session } (created) | 200 { session } (replaced)
//          403 QUOTA_EXCEEDED: a create while the owner has the server's maxSessionsPerOwner
//          If-None-Match: *     create only: 409 SESSION_EXISTS while a live one has the id
//          If-Match: "<version>" replace only at that version: 412 CONFLICT { error, session? }
//   POST   /v1/sessions/:id/touch TouchBody -> 200 { session } | 404; If-Match as for PUT (412)
//   DELETE /v1/sessions/:id               -> 200 { removed: true } | 404; If-Match as for PUT (412)
//   GET    /v1/changes?since=<cursor>&limit= -> 200 ChangesBody
//   GET    /v1/events  (Last-Event-ID)    -> 200 text/event-stream of the owner's changes (EVENTS)
//          501 NOT_SUPPORTED: the server's store keeps no change log (Memcached): poll instead
//          429 TOO_MANY_STREAMS: the owner has the most open streams the server allows
//
// The server sets createdAt, updatedAt, expiresAt (its clock is the authority) and version (1 on
// create, +1 on every change). Single-session responses carry `ETag: "<version>"`. Every response,
// errors included, carries the server's clock in the `x-sessionmanager-time` header (epoch ms), so
// clients measure their offset. Errors are `{ error: { code, message } }` with the SDK's codes:
// 400 INVALID_ID | INVALID_TTL | INVALID_DATA | BAD_REQUEST, 401 UNAUTHORIZED, 403 QUOTA_EXCEEDED,
// 404 SESSION_NOT_FOUND, 409 SESSION_EXISTS, 412 CONFLICT, 413 PAYLOAD_TOO_LARGE,
// 503 BACKEND_UNAVAILABLE; also 404 NOT_FOUND (no such route), 409 CONFLICT (a write kept losing
// to other writers, so try again), 429 TOO_MANY_STREAMS and 501 NOT_SUPPORTED (`/v1/events`) and
// 500 INTERNAL (a server bug).
import type { Duration } from "./duration.ts";
import type { Session } from "./types.ts";

export const API_VERSION = "v1";
/** Response header with the server's clock, epoch milliseconds. */
export const TIME_HEADER = "x-sessionmanager-time";

/**
 * Body of `PUT /v1/sessions/:id`. `ttl` in ms or a Duration string such as `"15m"` (default: the
 * server's default ttl). The session expires at `expiresAt` when it is given (epoch ms in the
 * server's clock; it must lie in the future, and is capped by the server's maximum ttl), else at
 * now + ttl: so an update can keep the expiry it had, and a client that was offline replays its
 * writes as they were.
 */
export interface PutBody {
  /** The session's data, JSON (a JWE string with `encrypted`). Default `null`. */
  data?: unknown;
  /** The lifetime, ms or a Duration; capped at the server's `maxTtl`. */
  ttl?: Duration;
  /** The expiry in the server's clock (epoch ms), instead of now + `ttl`. */
  expiresAt?: number;
  /** `data` is a compact JWE string sealed by the client (encryption at rest end to end). */
  encrypted?: true;
  /**
   * The cap on the session's whole lifetime, ms or a Duration: the server never sets `expiresAt`
   * (on this put or any touch) past `createdAt + maxAge`. A replace keeps the stored cap when
   * this is absent, and can lower it but never lift it.
   */
  maxAge?: Duration;
  /**
   * On a create, when the session began (epoch ms, the server's clock; a later one counts as
   * now): a rotated session keeps its `createdAt`, so its `maxAge` still counts from it. Ignored
   * on a replace, which keeps the stored one.
   */
  createdAt?: number;
}

/** Body of `POST /v1/sessions/:id/touch`. `ttl` in ms or a Duration (default: the session's own). */
export interface TouchBody {
  /** How far from now to move `expiresAt`; default the session's own `ttl`. */
  ttl?: Duration;
}

/** A session as the API sends it: the SDK's `Session`, plus `encrypted` when data is a JWE. */
export type WireSession = Session<unknown> & { encrypted?: true };

/** Sessions of a page of `GET /v1/sessions` when the request has no `limit`, and at most. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * Answer of `GET /v1/sessions?limit=<1..1000, default 100>&next=<cursor>`: a page of the owner's
 * live sessions, and `next`, an opaque cursor to send for the page after it, absent on the last
 * page. A page may hold fewer than `limit` sessions (even none) and still have a `next`.
 */
export interface ListBody {
  /** This page's live sessions, in id order. */
  sessions: WireSession[];
  /** The cursor of the page after this one; absent on the last page. */
  next?: string;
}

/**
 * Answer of `GET /v1/changes?since=<cursor>&limit=<1..1000>`. Two cursors exist:
 *
 * - A change-log cursor (a string: `cursor` of an earlier answer, or `log`), on a server whose
 *   store keeps a per-owner change log (every built-in one but Memcached): the sessions changed
 *   after it, read from the log a page at a time (`more`: ask again at once with `cursor`), as
 *   their current copies (`changed`) or the ids of those removed or expired since (`removed`).
 *   A cursor older than the log answers `resync`: list the sessions again, then go on from
 *   `cursor`.
 * - A clock cursor (a number; legacy, and on a store without a log): the sessions changed at or
 *   after it (all live ones without `since`) and the ids of every live session (`live`), so a
 *   client learns what was removed; the cursor trails the server's clock by a few seconds, so a
 *   session may come again (same version). On a store with a log the answer also has `log`, the
 *   log's head read before the sessions: send it as `since` next time.
 */
export interface ChangesBody {
  /** What to send as `since` next time. */
  cursor: number | string;
  /** The sessions changed (their copies now). */
  changed: WireSession[];
  /** Clock cursor only: the ids of every live session of the owner. */
  live?: string[];
  /** Change-log cursor only: the ids of the sessions removed or expired since the cursor. */
  removed?: string[];
  /** Clock cursor on a store with a log: the log cursor to send as `since` from now on. */
  log?: string;
  /** Change-log cursor: the page stopped at `limit`; more changes follow `cursor`. */
  more?: true;
  /** Change-log cursor: it is older than the log; list the sessions, then go on from `cursor`. */
  resync?: true;
}

/**
 * The events of `GET /v1/events`, each with an `id:` (its change-log cursor: send it back as
 * `Last-Event-ID` to resume after it). `added`, `touched`, `updated`: data is the session as
 * `WireSession`; `removed`, `expired`: data is `{ "id": "<session id>" }`; `ready`: sent once
 * the stream follows the log (after what `Last-Event-ID` missed), data `{ "cursor": "…" }`;
 * `resync`: changes may have been missed (the log no longer holds the cursor, or the server lost
 * its channel): pull `GET /v1/changes` again. Comment lines (`: heartbeat`) keep proxies from
 * closing an idle stream. The stream ends when the token expires and when the server closes.
 */
export const EVENTS: readonly string[] = [
  "added",
  "touched",
  "updated",
  "removed",
  "expired",
  "ready",
  "resync",
];
/** How often the server writes a heartbeat comment on an idle stream. */
export const HEARTBEAT_MS = 15_000;

/** The body of every error answer: a stable `code` (the SDK's where it has one) and a message. */
export interface ErrorBody {
  /** `code` such as `"SESSION_NOT_FOUND"`, and a message for people. */
  error: { code: string; message: string };
  /** With 412 CONFLICT: the server's current copy, so the client can tell the user. */
  session?: WireSession;
}
