import type { LogFns } from "../log.ts";
import { type ErrorBody, TIME_HEADER } from "../protocol.ts";

/** Which origins may call the API from a page; `"*"` lets any origin in. */
export interface CorsOptions {
  readonly origins: readonly string[];
}

const ALLOW_METHODS = "GET, PUT, POST, DELETE";
const ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match";
const EXPOSE_HEADERS = `ETag, ${TIME_HEADER}`;
// How long a browser may reuse a preflight answer: 10 minutes (Chromium's own cap is 2 hours).
const PREFLIGHT_MAX_AGE_S = "600";

/**
 * The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`), or
 * `undefined` for any other request. Answered before the token check, since a browser never
 * sends a token with a preflight: a listed origin gets a 204 with the methods and headers the API
 * uses; any other origin (every one without `cors`) a 403 without them, logged as a CORS refusal
 * so that a missing entry in `cors.origins` is not mistaken for a bad token.
 */
export function preflight(
  request: Request,
  cors: CorsOptions | undefined,
  log: LogFns,
): Response | undefined {
  if (request.method !== "OPTIONS" || !request.headers.has("access-control-request-method")) {
    return undefined;
  }
  const origin = cors && allowedOrigin(request, cors);
  if (origin === undefined) return refusal(request, cors, log);
  const headers = new Headers({ vary: "Origin" });
  headers.set("access-control-allow-origin", origin);
  headers.set("access-control-allow-methods", ALLOW_METHODS);
  headers.set("access-control-allow-headers", ALLOW_HEADERS);
  headers.set("access-control-max-age", PREFLIGHT_MAX_AGE_S);
  return new Response(null, { status: 204, headers });
}

/** Adds the CORS headers of an actual request from a listed origin to its response. */
export function allowOrigin(response: Response, request: Request, cors: CorsOptions): void {
  response.headers.append("vary", "Origin");
  const origin = allowedOrigin(request, cors);
  if (origin === undefined) return;
  response.headers.set("access-control-allow-origin", origin);
  response.headers.set("access-control-expose-headers", EXPOSE_HEADERS);
}

function refusal(request: Request, cors: CorsOptions | undefined, log: LogFns): Response {
  const origin = request.headers.get("origin") ?? "(none)";
  const why = cors ? "is not in cors.origins" : "may not call: the server has no cors option";
  const message = `CORS preflight refused: origin ${origin} ${why}`;
  log.warn?.(message);
  const body: ErrorBody = { error: { code: "FORBIDDEN", message } };
  return new Response(JSON.stringify(body), {
    status: 403,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function allowedOrigin(request: Request, cors: CorsOptions): string | undefined {
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  if (cors.origins.includes(origin)) return origin;
  return cors.origins.includes("*") ? "*" : undefined;
}
