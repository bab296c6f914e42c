// Plain Node (`http.createServer`, or anything that hands over Node's request and response): a
// wrapper that loads the request's session before the handler and sends its cookie with the
// response's head, whenever the handler writes it (writeHead, or the first write or end, which
// call writeHead). Nothing of node:http is imported: the types are the parts used.
import { isSessionError } from "../errors.ts";
import type { CookieSession, CookieSessions, RequestLike } from "./types.ts";

/** Node's `ServerResponse`, as far as the wrapper uses it. */
export interface NodeResponseLike {
  /** Reads the Set-Cookie values already set, to keep them. */
  getHeader(name: string): unknown;
  /** Sets Set-Cookie, and the error answer's content type. */
  setHeader(name: string, value: string | readonly string[]): unknown;
  /** Sends the head: wrapped so that the session's cookie goes with it. */
  writeHead(...args: never[]): unknown;
  /** Ends the error answer. */
  end(chunk?: string): unknown;
  /** Whether the head went out already (then an error ends the connection instead). */
  readonly headersSent: boolean;
  /** The error answer's status. */
  statusCode: number;
}

/** Options of `nodeSessions()`. */
export interface NodeSessionsOptions<Req, Res> {
  /**
   * Answers an error from loading the session or from the handler. Default: a JSON
   * `{ error: { code } }` with status 503 for a store that failed (`BACKEND_UNAVAILABLE`), 500
   * otherwise; or, once the head is sent, the connection ended.
   */
  onError?: (error: unknown, request: Req, response: Res) => unknown;
}

/**
 * A request listener for `http.createServer` that gives `handler` the request's session; the
 * cookie goes out with the response's head, so `await` each change before writing the response.
 * @example
 * http.createServer(nodeSessions(sessions, async (req, res, session) => {
 *   if (req.url === "/login") await session.rotate({ user: "ada" });
 *   res.end(JSON.stringify(session.data ?? null));
 * }));
 */
export function nodeSessions<Data, Req extends RequestLike, Res extends NodeResponseLike>(
  sessions: CookieSessions<Data>,
  handler: (request: Req, response: Res, session: CookieSession<Data>) => unknown,
  options: NodeSessionsOptions<Req, Res> = {},
): (request: Req, response: Res) => Promise<void> {
  const onError = options.onError ?? answerError;
  return async (request, response) => {
    try {
      const session = await sessions.load(request);
      const writeHead = response.writeHead;
      // ServerResponse's end() and first write() call this.writeHead(): the cookie is always in.
      response.writeHead = function (this: Res, ...args: never[]) {
        response.writeHead = writeHead;
        sessions.commit(session, this);
        return writeHead.apply(this, args);
      };
      await handler(request, response, session);
    } catch (error) {
      await onError(error, request, response);
    }
  };
}

function answerError(error: unknown, _request: unknown, response: NodeResponseLike): void {
  if (response.headersSent) {
    (response as { destroy?: (error?: unknown) => void }).destroy?.(error);
    return;
  }
  const code = isSessionError(error) ? error.code : "INTERNAL";
  response.statusCode = code === "BACKEND_UNAVAILABLE" ? 503 : 500;
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({ error: { code } }));
}
