import { type Context, Hono } from "hono";
import type { LogFns } from "../log.ts";
import { API_VERSION, type ErrorBody, TIME_HEADER } from "../protocol.ts";
import { type VerifyToken, WWW_AUTHENTICATE } from "./auth.ts";
import { HttpError, PreconditionFailedError, toErrorReply } from "./errors.ts";
import type { EventStreams } from "./events.ts";
import {
  changesLimit,
  changesSince,
  lastEventId,
  listPage,
  pageCursor,
  precondition,
  putInput,
  readJson,
  sessionId,
  touchTtl,
} from "./input.ts";
import { tagErrorCode } from "./metrics.ts";
import type { ResolvedLimits } from "./options.ts";
import type { OwnerSessions } from "./sessions.ts";

/** What the routes need: the sessions (once the store is open), the token check, the limits. */
export interface AppContext {
  readonly sessions: () => Promise<OwnerSessions>;
  readonly verify: VerifyToken;
  readonly limits: ResolvedLimits;
  /** `""` or a path such as `"/api"`, without a trailing slash. */
  readonly basePath: string;
  /** The store's name, for the message of a 503. */
  readonly storeName: () => string;
  readonly log: LogFns;
  /** The open event streams, and their cap per owner. */
  readonly streams: EventStreams;
}

type Env = { Variables: { owner: string; until: number } };

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The routes of src/protocol.ts on a Hono router, as a fetch handler. Every route under
 * `/v1` checks the bearer token first; every error becomes `{ error: { code, message } }`.
 */
export function createApp(context: AppContext): (request: Request) => Promise<Response> {
  const { limits, sessions } = context;
  const v1 = `${context.basePath}/${API_VERSION}`;
  const app = new Hono<Env>();
  app.use(`${v1}/*`, async (c, next) => {
    const { owner, until } = await context.verify(c.req.header("authorization") ?? null);
    c.set("owner", owner);
    c.set("until", until);
    await next();
  });
  const owner = (c: Context<Env>) => c.get("owner");
  const idOf = (c: Context<Env>) => sessionId(c.req.param("id") ?? "", limits);

  app.get(`${v1}/sessions`, async (c) => {
    const request = listPage(c.req.query());
    const { sessions: page, next } = await (await sessions()).list(owner(c), request);
    return json(
      next === undefined ? { sessions: page } : { sessions: page, next: pageCursor(next) },
    );
  });
  app.delete(`${v1}/sessions`, async (c) => {
    return json({ removed: await (await sessions()).clear(owner(c)) });
  });
  app.get(`${v1}/sessions/:id`, async (c) => {
    const session = await (await sessions()).get(owner(c), idOf(c));
    return json({ session }, 200, session.version);
  });
  app.put(`${v1}/sessions/:id`, async (c) => {
    const id = idOf(c);
    const pre = precondition(c.req.raw.headers);
    const input = putInput(await readJson(c.req.raw, limits.body), limits);
    const owned = await sessions();
    const { session, created } = await owned.put(owner(c), id, input, pre, limits.sessions);
    return json({ session }, created ? 201 : 200, session.version);
  });
  app.post(`${v1}/sessions/:id/touch`, async (c) => {
    const id = idOf(c);
    const pre = precondition(c.req.raw.headers);
    const ttl = touchTtl(await readJson(c.req.raw, limits.body), limits);
    const session = await (await sessions()).touch(owner(c), id, ttl, pre);
    return json({ session }, 200, session.version);
  });
  app.delete(`${v1}/sessions/:id`, async (c) => {
    const id = idOf(c);
    await (await sessions()).remove(owner(c), id, precondition(c.req.raw.headers));
    return json({ removed: true });
  });
  app.get(`${v1}/changes`, async (c) => {
    const query = c.req.query();
    const since = changesSince(query);
    return json(await (await sessions()).changes(owner(c), since, changesLimit(query)));
  });
  app.get(`${v1}/events`, async (c) => {
    const lastId = lastEventId(c.req.raw.headers, c.req.query());
    const partition = (await sessions()).partition(owner(c));
    const { watch } = partition;
    if (!watch) {
      const poll = "its clients poll GET /v1/changes instead";
      throw new HttpError(501, "NOT_SUPPORTED", `this server's store has no change feed: ${poll}`);
    }
    const request = {
      partition: { ...partition, watch },
      lastEventId: lastId,
      until: c.get("until"),
    };
    return context.streams.respond(c, request);
  });

  app.notFound((c) => {
    const route = `${c.req.method} ${new URL(c.req.url).pathname}`;
    return errorResponse(new HttpError(404, "NOT_FOUND", `no route ${route}`), c, context);
  });
  app.onError((error, c) => errorResponse(error, c, context));
  return async (request) => app.fetch(request);
}

// Responses that carry the server's clock already (see `stampTime`).
const stamped = new WeakSet<Response>();

/** A JSON response with the server's clock; with `version`, the ETag of the session it carries. */
export function json(body: unknown, status = 200, version?: number): Response {
  const headers: Record<string, string> = {
    "content-type": JSON_TYPE,
    [TIME_HEADER]: String(Date.now()),
  };
  if (version !== undefined) headers.etag = `"${version}"`;
  const response = new Response(JSON.stringify(body), { status, headers });
  stamped.add(response);
  return response;
}

/**
 * Adds the server's clock to a response that `json` did not make. Not set on every response
 * afterwards: @hono/node-server writes a plain header record as it is, while `response.headers`
 * makes it build a `Headers` object and convert it back (some 4% of a GET's time in the server).
 */
export function stampTime(response: Response): void {
  if (!stamped.has(response)) response.headers.set(TIME_HEADER, String(Date.now()));
}

/** The error body and status for `error`; server-side failures are logged with their cause. */
function errorResponse(error: unknown, c: Context<Env>, context: AppContext): Response {
  const { status, code, message } = toErrorReply(error, context.storeName());
  if (status >= 500) {
    context.log.error?.(`${c.req.method} ${status} ${code}: ${describe(error)}`);
  }
  const body: ErrorBody = { error: { code, message } };
  let version: number | undefined;
  if (error instanceof PreconditionFailedError && error.current) {
    body.session = error.current;
    version = error.current.version;
  }
  const response = json(body, status, version);
  tagErrorCode(response, code);
  if (status === 401) {
    // RFC 6750 §3.1: `invalid_token` when a token was sent and refused, nothing when none was.
    const sent = c.req.header("authorization") !== undefined;
    response.headers.set(
      "www-authenticate",
      sent ? `${WWW_AUTHENTICATE}, error="invalid_token"` : WWW_AUTHENTICATE,
    );
  }
  return response;
}

/** An error and its causes in one line, for the server log (never sent to clients). */
function describe(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && depth < 4; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    // A store error wrapped by the store guard repeats its cause's message.
    if (!parts.at(-1)?.endsWith(message)) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}
