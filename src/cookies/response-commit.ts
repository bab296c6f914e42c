// What the Next.js, H3 and SvelteKit adapters share: sending a session's cookie on a web Response
// whose headers may be frozen, and sessions that send their cookie the moment they change, for
// frameworks that give no place to act after the handler (H3's handlers, Next's `cookies()`).
import { appendSetCookie, headerValues } from "./headers.ts";
import type { CookieSession, CookieSessions } from "./types.ts";

/** Throws a TypeError unless `sessions` is what `cookieSessions()` returns. */
export function checkSessions(sessions: unknown): void {
  const candidate = sessions as Partial<CookieSessions> | undefined;
  if (typeof candidate?.load !== "function" || typeof candidate.setCookies !== "function") {
    throw new TypeError(`sessions must be what cookieSessions() returns, got ${typeof sessions}`);
  }
}

/**
 * `response` with the session's Set-Cookie headers. A response whose headers cannot change (one
 * from `fetch()`, `Response.redirect()`) is copied first, as the Fetch spec makes such headers
 * immutable ("immutable" guard) and appending to them throws a TypeError.
 */
export function commitToResponse<Data>(
  sessions: CookieSessions<Data>,
  session: CookieSession<Data>,
  response: Response,
): Response {
  const cookies = sessions.setCookies(session);
  try {
    // The first append throws if the headers are immutable, before anything was appended.
    appendSetCookie(response, cookies);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    appendSetCookie(copy, cookies);
    return copy;
  }
}

/**
 * A view of `session` that, after each change (and once now, for a rolled expiry), hands the
 * Set-Cookie values the session needs to `send`. Each call replaces what the previous one sent.
 */
export function sendingSession<Data>(
  sessions: CookieSessions<Data>,
  session: CookieSession<Data>,
  send: (cookies: string[]) => void,
): CookieSession<Data> {
  const sync = () => send(sessions.setCookies(session));
  // A failed change may still have changed something (a rotation that created the new id), so
  // the cookie follows the session whatever happened.
  const changing = async (change: Promise<void>) => {
    try {
      await change;
    } finally {
      sync();
    }
  };
  sync();
  return {
    get id() {
      return session.id;
    },
    get data() {
      return session.data;
    },
    get expiresAt() {
      return session.expiresAt;
    },
    set: (data) => changing(session.set(data)),
    rotate: (...data) => changing(session.rotate(...data)),
    destroy: () => changing(session.destroy()),
  };
}

/** The headers of Node's ServerResponse (or unenv's stand-in for it), as a sender writes them. */
export interface NodeHeaders {
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader?(name: string): unknown;
}

/**
 * A `send` for {@link sendingSession} over Node's response or web Headers: it takes back the
 * Set-Cookie values it added before and adds the new ones, leaving the app's own cookies alone.
 */
export function setCookieSender(target: NodeHeaders | Headers): (cookies: string[]) => void {
  let sent: string[] = [];
  return (cookies) => {
    if (sent.length === 0 && cookies.length === 0) return;
    const others = setCookiesOf(target).filter((cookie) => !sent.includes(cookie));
    const all = [...others, ...cookies];
    if (isHeaders(target)) {
      target.delete("set-cookie");
      for (const cookie of all) target.append("set-cookie", cookie);
    } else if (all.length > 0) {
      target.setHeader("set-cookie", all);
    } else {
      target.removeHeader?.("set-cookie");
    }
    sent = cookies;
  };
}

function setCookiesOf(target: NodeHeaders | Headers): string[] {
  return isHeaders(target) ? target.getSetCookie() : headerValues(target.getHeader("set-cookie"));
}

function isHeaders(target: NodeHeaders | Headers): target is Headers {
  return typeof (target as Headers).getSetCookie === "function";
}
