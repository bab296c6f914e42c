// The contract of cookie sessions (`sessionmanager-js/cookies`): a signed, HttpOnly cookie that
// holds only a random session id; the data stays on the server, in a SessionManager. The core
// works on the web's Request/Headers (Node 18+, Deno, Bun, edge runtimes) and on Node's
// IncomingMessage/ServerResponse; each framework adapter is a few lines over it.
import type { Duration } from "../duration.ts";
import type { SessionManagerOptions } from "../options.ts";
import type { SessionManager } from "../root-manager.ts";

/** The cookie's attributes beyond its value. HttpOnly is always set and cannot be turned off. */
export interface CookieAttributes {
  /** Default "/". */
  path?: string;
  /** Also sent to this domain's subdomains; none by default (the cookie stays on this host). */
  domain?: string;
  /**
   * Default true. False is accepted only for requests to http://localhost (or 127.0.0.1, [::1]),
   * so local development works without TLS; elsewhere the cookie is Secure whatever this says.
   */
  secure?: boolean;
  /** Default "lax". "none" requires Secure. */
  sameSite?: "lax" | "strict" | "none";
  /** CHIPS (partitioned third-party cookies); default false. */
  partitioned?: boolean;
}

/** Options of `cookieSessions()`: where the sessions live, how the cookie is signed and kept. */
export interface CookieSessionOptions<Data = unknown> {
  /** The manager that holds the sessions; or give SessionManager options in `store`. */
  manager?: SessionManager<Data>;
  /** SessionManager options to build one (e.g. `{ backend: "redis", url }`), when no `manager`. */
  store?: SessionManagerOptions;
  /**
   * HMAC-SHA-256 keys for the id cookie, at least 32 characters each: the first signs, every one
   * verifies, so a key is rotated by putting the new one first and dropping the old one later.
   */
  secret: string | readonly string[];
  /** The cookie's name. Default "sid" (or "__Host-sid" when Secure, path "/" and no domain). */
  name?: string;
  /** Idle lifetime: a session unused for this long ends. Default "1h". */
  ttl?: Duration;
  /**
   * Absolute lifetime from the session's creation (usually sign-in; `rotate()` keeps it), never
   * extended by use; also the cookie's Max-Age. Default "7d".
   */
  maxAge?: Duration;
  /** Each request that loads a live session extends it by `ttl` (capped by `maxAge`). Default true. */
  rolling?: boolean;
  /** The cookie's attributes: path, domain, Secure, SameSite, Partitioned. */
  cookie?: CookieAttributes;
}

/** One request's session. Read `data`; the methods change it and queue the cookie to send. */
export interface CookieSession<Data = unknown> {
  /** The session id, or undefined when the request has no live session. */
  readonly id: string | undefined;
  /** The session's data, or undefined when there is none. */
  readonly data: Data | undefined;
  /** When it ends (ms since the epoch), or undefined. */
  readonly expiresAt: number | undefined;
  /** Stores `data`: creates the session (and its cookie) if there is none. */
  set(data: Data): Promise<void>;
  /**
   * Moves the session to a fresh id (creating it with `data` if there is none, or replacing its
   * data if given); the old id stops working. Call it on sign-in and on any gain of rights, so a
   * session id planted before sign-in (session fixation) is worthless.
   */
  rotate(data?: Data): Promise<void>;
  /** Ends the session and clears the cookie. */
  destroy(): Promise<void>;
}

/** What a request looks like to the core: a web Request, Node's IncomingMessage, or headers. */
export type RequestLike =
  | {
      /** A web Request's headers. */
      headers: Headers;
      /** Absolute for a web Request; a path for Node's (the Host header then says where). */
      url?: string | undefined;
    }
  | {
      /** Node's headers: lower-case names, repeated ones as arrays. */
      headers: Record<string, string | string[] | undefined>;
      /** Absolute for a web Request; a path for Node's (the Host header then says where). */
      url?: string | undefined;
    };

/** Where the core writes Set-Cookie: web Headers (of a Response), or Node's ServerResponse. */
export type ResponseLike =
  | {
      /** A web Response's headers (mutable: not those of a `fetch()` or `Response.redirect()`). */
      headers: Headers;
    }
  | Headers
  | {
      /** Node's `ServerResponse.getHeader`: the Set-Cookie values already there are kept. */
      getHeader(name: string): unknown;
      /** Node's `ServerResponse.setHeader`. */
      setHeader(name: string, value: string | readonly string[]): unknown;
    };

/** The sessions of an app: load one per request, commit its cookie to the response. */
export interface CookieSessions<Data = unknown> {
  /** The manager that holds the sessions: its events (`onExpiringSoon`), `list()`, `clear()`. */
  readonly manager: SessionManager<Data>;
  /** The request's session (verifying the cookie's signature; a bad one counts as none). */
  load(request: RequestLike): Promise<CookieSession<Data>>;
  /** The Set-Cookie header values the session needs now (none when nothing changed). */
  setCookies(session: CookieSession<Data>): string[];
  /** Appends those Set-Cookie headers to a response. */
  commit(session: CookieSession<Data>, response: ResponseLike): void;
  /** Closes the manager if these sessions built it. */
  close(): Promise<void>;
}
