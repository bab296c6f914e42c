// The id cookie on the wire: which name and attributes a request gets, reading it from the Cookie
// header and writing Set-Cookie. Parsing and serialising are Hono's (`hono/utils/cookie`, a
// dependency already, WebCrypto-free and runtime-neutral): RFC 6265 grammar, the prefix rules
// and the 400-day limit are checked there rather than written again here.
import { parse, serialize } from "hono/utils/cookie";
import type { CookieAttributes } from "./types.ts";

/** Browsers keep a cookie at most 400 days (RFC 6265bis §5.6.1); Hono refuses more. */
const MAX_COOKIE_SECONDS = 400 * 24 * 3600;
const NAME = /^[\w!#$%&'*.^`|~+-]+$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The cookie as one request gets it: name and attributes, Secure decided for its origin. */
export interface CookieShape {
  readonly name: string;
  readonly secure: boolean;
  readonly path: string;
  readonly domain: string | undefined;
  readonly sameSite: "lax" | "strict" | "none";
  readonly partitioned: boolean;
}

/**
 * Makes each request's `CookieShape` from the options, checked once (`TypeError` if wrong).
 * `local(request)` says whether the request is local development over http; it is asked only
 * when the answer matters (`secure: false`), so a Secure cookie's shape costs nothing per request
 * (and no closure is made per request to ask it).
 */
export function cookieShapes(
  name: string | undefined,
  attributes: CookieAttributes = {},
): <R>(request: R, local: (request: R) => boolean) => CookieShape {
  const { path = "/", domain, secure = true, sameSite = "lax", partitioned = false } = attributes;
  if (!["lax", "strict", "none"].includes(sameSite)) {
    throw new TypeError(
      `cookie.sameSite must be "lax", "strict" or "none", got ${String(sameSite)}`,
    );
  }
  if (typeof path !== "string" || !path.startsWith("/") || /[;\r\n]/.test(path)) {
    throw new TypeError(`cookie.path must be a path starting with "/", got ${String(path)}`);
  }
  if (domain !== undefined && (typeof domain !== "string" || /[;\r\n\s]/.test(domain))) {
    throw new TypeError(`cookie.domain must be a domain name, got ${String(domain)}`);
  }
  if (name !== undefined && !NAME.test(name)) {
    throw new TypeError(`cookie name must be an RFC 6265 token, got ${JSON.stringify(name)}`);
  }
  const host = /^__host-/i.test(name ?? "");
  if (host && (path !== "/" || domain !== undefined)) {
    throw new TypeError(`a __Host- cookie needs path "/" and no domain, got ${path} ${domain}`);
  }
  // Secure is off only where asked and only on a loopback origin over http, and never for a
  // prefixed name, SameSite=None or a partitioned cookie, which browsers refuse without it.
  const prefixed = host || /^__secure-/i.test(name ?? "");
  const mustBeSecure = secure !== false || prefixed || sameSite === "none" || partitioned;
  const shape = (isSecure: boolean): CookieShape => ({
    name: name ?? defaultName(isSecure, path, domain),
    secure: isSecure,
    path,
    domain,
    sameSite,
    partitioned,
  });
  const [secureShape, localShape] = [shape(true), shape(false)];
  return (request, local) => (mustBeSecure || !local(request) ? secureShape : localShape);
}

/**
 * `__Host-sid` where the cookie can carry that prefix (Secure, Path=/, no Domain): the browser
 * then refuses it from a sibling subdomain or an http page, so it cannot be planted from there.
 * `__Secure-sid` with a Domain or another path; plain `sid` only in local development over http.
 */
function defaultName(secure: boolean, path: string, domain: string | undefined): string {
  if (!secure) return "sid";
  return path === "/" && domain === undefined ? "__Host-sid" : "__Secure-sid";
}

// Origins (or Host headers) whose answer is known, a few at most: with `secure: false` every
// request asks, and parsing its URL would cost more than the rest of finding its cookie.
const ORIGINS_KEPT = 64;
const knownOrigins = new Map<string, boolean>();
const ABSOLUTE = /^[a-z][a-z\d+.-]*:\/\//i;

/**
 * `isLoopbackHttp`, remembered by what decides it: an absolute URL's start up to its path, query
 * or fragment (its authority ends there or before, so that start alone parses to the same scheme
 * and host), else the Host header.
 */
export function isLoopbackRequest(url: string | undefined, host: string | undefined): boolean {
  const absolute = url !== undefined && ABSOLUTE.test(url);
  const origin = absolute ? url.slice(0, authorityEnd(url)) : undefined;
  const key = origin === undefined ? `h ${host}` : `u ${origin}`;
  let local = knownOrigins.get(key);
  if (local === undefined) {
    local = isLoopbackHttp(origin, host);
    if (knownOrigins.size >= ORIGINS_KEPT) knownOrigins.clear();
    knownOrigins.set(key, local);
  }
  return local;
}

/** Where an absolute URL's path, query or fragment starts (its length if none). */
function authorityEnd(url: string): number {
  const from = url.indexOf("//") + 2;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) return i; // "/", "?", "#"
  }
  return url.length;
}

/** Whether a request is for http://localhost, 127.0.0.1 or [::1] (where Secure may be off). */
export function isLoopbackHttp(url: string | undefined, host: string | undefined): boolean {
  let origin: URL;
  try {
    origin = url && ABSOLUTE.test(url) ? new URL(url) : new URL(`http://${host}`);
  } catch {
    return false;
  }
  return origin.protocol === "http:" && LOOPBACK.has(origin.hostname);
}

/** The cookie's value in a Cookie header (URI-decoded), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  return header ? parse(header, name)[name] : undefined;
}

/** Set-Cookie for `value`, kept until `expiresAt` (ms since the epoch; at most 400 days). */
export function setCookie(shape: CookieShape, value: string, expiresAt: number): string {
  const seconds = Math.max(
    0,
    Math.min(MAX_COOKIE_SECONDS, Math.floor((expiresAt - Date.now()) / 1000)),
  );
  return serialize(shape.name, value, attributes(shape, seconds));
}

/** Set-Cookie that removes the cookie (Max-Age=0, empty value). */
export function clearCookie(shape: CookieShape): string {
  return serialize(shape.name, "", attributes(shape, 0));
}

function attributes(shape: CookieShape, maxAge: number) {
  return {
    maxAge,
    path: shape.path,
    ...(shape.domain === undefined ? {} : { domain: shape.domain }),
    httpOnly: true,
    secure: shape.secure,
    sameSite: shape.sameSite,
    partitioned: shape.partitioned,
  } as const;
}
