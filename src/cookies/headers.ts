// Headers in and out, whatever carries them: the web's Request/Headers (Hono, Next.js, SvelteKit,
// edge runtimes), or Node's IncomingMessage/ServerResponse (plain node:http, Fastify, H3).
import type { RequestLike, ResponseLike } from "./types.ts";

/** A request header (lower-case name), repeated ones joined with `separator`. */
export function requestHeader(
  request: RequestLike,
  name: string,
  separator = ", ",
): string | undefined {
  const { headers } = request;
  if (isHeaders(headers)) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(separator) : value;
}

/** Appends Set-Cookie values to a response, keeping those it has already. */
export function appendSetCookie(response: ResponseLike, values: readonly string[]): void {
  if (values.length === 0) return;
  if ("setHeader" in response && typeof response.setHeader === "function") {
    response.setHeader("set-cookie", [
      ...headerValues(response.getHeader("set-cookie")),
      ...values,
    ]);
    return;
  }
  const headers = isHeaders(response) ? response : (response as { headers: Headers }).headers;
  for (const value of values) headers.append("set-cookie", value);
}

/** What Node's `getHeader()` answers for a header that may repeat, as a list of values. */
export function headerValues(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

function isHeaders(value: unknown): value is Headers {
  return (
    typeof (value as Headers).get === "function" && typeof (value as Headers).append === "function"
  );
}
