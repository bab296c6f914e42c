import * as v from "valibot";
import { MAX_DATE_MS } from "../constants.ts";
import { toJsonData } from "../data.ts";
import { parseDuration } from "../duration.ts";
import { InvalidDataError, InvalidSessionIdError, InvalidTtlError, messageOf } from "../errors.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../protocol.ts";
import { checkId } from "../session.ts";
import type { PageRequest } from "../stores/types.ts";
import { HttpError } from "./errors.ts";
import type { ResolvedLimits } from "./options.ts";

/** What a `PUT` asks for, checked: data JSON-safe (or a JWE), ttl in ms (sent as ms or a Duration) and capped. */
export interface PutInput {
  readonly data: unknown;
  /** `undefined`: the server's default ttl. */
  readonly ttl: number | undefined;
  /** In the future and within `maxTtl`; `undefined`: now + ttl. */
  readonly expiresAt: number | undefined;
  readonly encrypted: boolean;
  /** The cap on the whole lifetime, ms; `undefined`: none given. */
  readonly maxAge: number | undefined;
  /** When a create says the session began, at most now; `undefined`: now. */
  readonly createdAt: number | undefined;
}

/** The conditional headers of a write: `If-None-Match: *` or `If-Match: "<version>"` / `*`. */
export interface Precondition {
  readonly ifNoneMatch?: true;
  readonly ifMatch?: number | "*";
}

const received = (issue: v.BaseIssue<unknown>): string => issue.received;
// Milliseconds or a Duration string ("15m"), as the SDK takes; `checkTtl` parses and bounds it.
const ttlSchema = v.union(
  [v.number(), v.string()],
  (issue) => `ttl must be a number of milliseconds or a Duration string, got ${received(issue)}`,
);
const epochMs = (issue: v.BaseIssue<unknown>) =>
  `createdAt must be epoch milliseconds, got ${received(issue)}`;
const objectMessage = (issue: v.BaseIssue<unknown>) =>
  `body must be a JSON object, got ${received(issue)}`;
const putSchema = v.object(
  {
    data: v.optional(v.unknown()),
    ttl: v.optional(ttlSchema),
    expiresAt: v.optional(
      v.number((issue) => `expiresAt must be epoch milliseconds, got ${received(issue)}`),
    ),
    encrypted: v.optional(
      v.literal(true, (issue) => `encrypted must be true when given, got ${received(issue)}`),
    ),
    maxAge: v.optional(
      v.union(
        [v.number(), v.string()],
        (issue) =>
          `maxAge must be a number of milliseconds or a Duration string, got ${received(issue)}`,
      ),
    ),
    createdAt: v.optional(v.pipe(v.number(epochMs), v.finite(epochMs), v.minValue(0, epochMs))),
  },
  objectMessage,
);
const touchSchema = v.object({ ttl: v.optional(ttlSchema) }, objectMessage);
// A clock cursor (legacy) is digits; a change-log cursor is any other printable ASCII.
const CLOCK_CURSOR = /^\d{1,15}$/;
const LOG_CURSOR = /^[\x21-\x7e]{1,200}$/;

// A compact JWE: five base64url parts (RFC 7516 §7.1); the header, iv, ciphertext and tag are
// never empty with the `dir` + `A256GCM` the SDK seals with.
const COMPACT_JWE = /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/;
// A JWE of data that fits the limit is longer than the data: base64url (4/3) plus the header.
const JWE_GROWTH = 4 / 3;
const JWE_OVERHEAD_BYTES = 512;
const IF_MATCH = /^"(\d{1,15})"$/;
const encoder = new TextEncoder();
// Reusable: `decode` without `stream` starts afresh each time.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON body of `request`, or `undefined` when it has none. The size is checked before
 * anything is parsed (413): the declared `Content-Length` before reading, a body without one as
 * its bytes arrive, and every body once read.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? 0);
  if (declared > limit) throw tooLarge(limit, declared);
  let bytes: Uint8Array;
  try {
    bytes = length === null ? await readStream(request, limit) : await readDeclared(request);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away, or sent a broken chunked body.
    throw new HttpError(400, "BAD_REQUEST", "could not read the body", { cause: error });
  }
  // A body longer than it declared (a hand-made Request: HTTP servers frame the body by it).
  if (bytes.byteLength > limit) throw tooLarge(limit, bytes.byteLength);
  if (bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "body must be UTF-8 JSON");
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "BAD_REQUEST", `body must be JSON: ${messageOf(error)}`);
  }
}

/** The body of a `PUT`, checked against the schema and the limits. */
export function putInput(body: unknown, limits: ResolvedLimits): PutInput {
  const {
    data,
    ttl,
    expiresAt,
    encrypted = false,
    maxAge,
    createdAt,
  } = parse(putSchema, object(body));
  return {
    data: encrypted ? checkJwe(data, limits.data) : checkData(data, limits.data),
    ttl: checkTtl(ttl, limits),
    expiresAt: checkExpiresAt(expiresAt, limits),
    encrypted,
    maxAge: maxAge === undefined ? undefined : parseDuration(maxAge, "maxAge"),
    createdAt: createdAt === undefined ? undefined : Math.min(createdAt, Date.now()),
  };
}

/** The ttl of a touch, checked and capped; `undefined` keeps the session's own. */
export function touchTtl(body: unknown, limits: ResolvedLimits): number | undefined {
  return checkTtl(parse(touchSchema, object(body)).ttl, limits);
}

/** The `since` query parameter of `/v1/changes`, if given. */
export function changesSince(query: Record<string, string>): number | string | undefined {
  const { since } = query;
  if (since === undefined) return undefined;
  if (CLOCK_CURSOR.test(since)) return Number(since);
  if (LOG_CURSOR.test(since) && !/^\d+$/.test(since)) return since;
  throw new HttpError(
    400,
    "BAD_REQUEST",
    `since must be a cursor from /v1/changes, got ${JSON.stringify(since.slice(0, 50))}`,
  );
}

/** The `Last-Event-ID` of `GET /v1/events`: a change-log cursor, or none (anything else: 400). */
export function lastEventId(headers: Headers, query: Record<string, string>): string | undefined {
  const id = headers.get("last-event-id") ?? query.lastEventId;
  if (id === undefined || id === null || id === "") return undefined;
  if (LOG_CURSOR.test(id) && !CLOCK_CURSOR.test(id)) return id;
  throw new HttpError(400, "BAD_REQUEST", "Last-Event-ID must be an event id of this stream");
}

/** `limit` of `GET /v1/changes` (entries of the change log read at once): 1 to 1000, default 1000. */
export function changesLimit(query: Record<string, string>): number {
  const { limit } = query;
  if (limit === undefined) return MAX_PAGE_SIZE;
  const size = Number(limit);
  if (/^\d{1,4}$/.test(limit) && size >= 1 && size <= MAX_PAGE_SIZE) return size;
  throw new HttpError(
    400,
    "BAD_REQUEST",
    `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
  );
}

// The longest `next` taken: far above any a partition makes (an encoded owner and an id).
const MAX_CURSOR_CHARS = 16_384;
const BASE64URL = /^[\w-]+$/;

/** The page `GET /v1/sessions?limit=&next=` asks for; 400 for a bad `limit` or `next`. */
export function listPage(query: Record<string, string>): PageRequest {
  const { limit, next } = query;
  const size = limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit);
  if (limit !== undefined && !(/^\d{1,4}$/.test(limit) && size >= 1 && size <= MAX_PAGE_SIZE)) {
    throw new HttpError(
      400,
      "BAD_REQUEST",
      `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(limit)}`,
    );
  }
  return next === undefined ? { limit: size } : { limit: size, cursor: fromPageCursor(next) };
}

/** A partition's cursor as the opaque `next` of `GET /v1/sessions` (base64url of its UTF-8). */
export function pageCursor(cursor: string): string {
  let binary = "";
  for (const byte of encoder.encode(cursor)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The partition's cursor in a `next` that `pageCursor` made. Anything else is 400: a cursor is
 * never handed to a store unchecked (a NUL, say, fails a PostgreSQL query). One forged from
 * another owner's ids reads nothing of theirs: a page is always of the caller's partition.
 */
function fromPageCursor(next: string): string {
  const bad = () =>
    new HttpError(400, "BAD_REQUEST", "next must be the next cursor of a GET /v1/sessions answer");
  if (next.length > MAX_CURSOR_CHARS || !BASE64URL.test(next) || next.length % 4 === 1) {
    throw bad();
  }
  let cursor: string;
  try {
    const binary = atob(next.replace(/-/g, "+").replace(/_/g, "/"));
    cursor = utf8.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw bad();
  }
  if (cursor === "" || cursor.includes("\0")) throw bad();
  return cursor;
}

/** A session id from the path: 1 to 256 characters, and within `limits.id`. */
export function sessionId(id: string, limits: ResolvedLimits): string {
  checkId(id);
  if (id.length > limits.id) {
    throw new InvalidSessionIdError(
      `id must be at most ${limits.id} characters, got a string of ${id.length} characters`,
    );
  }
  return id;
}

/** The preconditions of a write; a malformed or contradictory header is 400. */
export function precondition(headers: Headers): Precondition {
  const noneMatch = headers.get("if-none-match")?.trim();
  const match = headers.get("if-match")?.trim();
  if (noneMatch !== undefined && match !== undefined) {
    throw new HttpError(400, "BAD_REQUEST", "send If-Match or If-None-Match, not both");
  }
  if (noneMatch !== undefined) {
    if (noneMatch === "*") return { ifNoneMatch: true };
    throw new HttpError(400, "BAD_REQUEST", `If-None-Match must be *, got ${noneMatch}`);
  }
  if (match === undefined) return {};
  if (match === "*") return { ifMatch: "*" };
  const version = IF_MATCH.exec(match)?.[1];
  if (version !== undefined) return { ifMatch: Number(version) };
  throw new HttpError(400, "BAD_REQUEST", `If-Match must be "<version>" or *, got ${match}`);
}

/** `value` as `schema` has it; the first issue says what was wrong, with the SDK's code. */
function parse<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const [issue] = result.issues;
  const path = v.getDotPath(issue);
  if (path === "ttl" || path === "expiresAt" || path === "maxAge") {
    throw new InvalidTtlError(issue.message);
  }
  throw new HttpError(400, "BAD_REQUEST", issue.message);
}

/** A body is an object or absent (`{}`); valibot's `object` would let an array through. */
function object(body: unknown): unknown {
  if (!Array.isArray(body)) return body === undefined ? {} : body;
  throw new HttpError(400, "BAD_REQUEST", "body must be a JSON object, got an array");
}

function checkTtl(ttl: number | string | undefined, limits: ResolvedLimits): number | undefined {
  return ttl === undefined ? undefined : Math.min(parseDuration(ttl, "ttl"), limits.maxTtl);
}

/**
 * An expiry the client sets (an update that keeps its expiry, a replayed offline write): in the
 * future by the server's clock, and no further than `maxTtl` from now.
 */
function checkExpiresAt(expiresAt: number | undefined, limits: ResolvedLimits): number | undefined {
  if (expiresAt === undefined) return undefined;
  const now = Date.now();
  if (Number.isFinite(expiresAt) && expiresAt > now && expiresAt <= MAX_DATE_MS) {
    return Math.min(expiresAt, now + limits.maxTtl);
  }
  throw new InvalidTtlError(
    `expiresAt must be a time in the future (epoch ms, the server's clock is ${now}), got ${expiresAt}`,
  );
}

function checkData(data: unknown, limit: number): unknown {
  const json = toJsonData(data);
  const size = encoder.encode(JSON.stringify(json)).byteLength;
  if (size > limit) {
    throw new InvalidDataError(`data must be at most ${limit} bytes as JSON, got ${size}`);
  }
  return json;
}

function checkJwe(data: unknown, limit: number): string {
  if (typeof data !== "string" || !COMPACT_JWE.test(data)) {
    const given = typeof data === "string" ? "a string that is not one" : typeof data;
    throw new InvalidDataError(`encrypted data must be a compact JWE string, got ${given}`);
  }
  const max = Math.ceil(limit * JWE_GROWTH) + JWE_OVERHEAD_BYTES;
  if (data.length > max) {
    throw new InvalidDataError(`encrypted data must be at most ${max} bytes, got ${data.length}`);
  }
  return data;
}

/**
 * A body of a declared length, which the limit was checked against. `arrayBuffer()` rather than
 * `body`: on @hono/node-server it reads the socket directly, while `body` makes a web Request and
 * a web stream around it (a quarter of the CPU time of a touch).
 */
async function readDeclared(request: Request): Promise<Uint8Array> {
  return new Uint8Array(await request.arrayBuffer());
}

/** A body without a declared length (chunked, a stream): counted as it arrives. */
async function readStream(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, size, true);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** `size`: the declared length, or what had arrived when the body went over the limit. */
function tooLarge(limit: number, size: number, streamed = false): HttpError {
  const got = streamed ? `more than ${limit}` : String(size);
  return new HttpError(413, "PAYLOAD_TOO_LARGE", `body must be at most ${limit} bytes, got ${got}`);
}
