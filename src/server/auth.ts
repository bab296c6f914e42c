import { createRemoteJWKSet, errors, type JWTVerifyOptions, jwksCache, jwtVerify } from "jose";
import { MAX_ID_LENGTH } from "../constants.ts";
import { parseDuration } from "../duration.ts";
import { AuthError } from "../errors.ts";
import { checkId } from "../session.ts";
import { HttpError } from "./errors.ts";
import type { SessionServerAuth } from "./options.ts";

/** Checks an `Authorization` header; resolves to the owner (the token's `sub`) and until when. */
export type VerifyToken = (authorization: string | null) => Promise<Verified>;

/** What a token that passed the check says. */
export interface Verified {
  /** The token's `sub`. */
  readonly owner: string;
  /** When the token stops being accepted (epoch ms): its `exp`, or `iat` + `maxTokenAge`. */
  readonly until: number;
}

/** Header sent with every 401 (RFC 6750 §3). */
export const WWW_AUTHENTICATE = 'Bearer realm="sessionmanager"';

// RFC 7518 §3.2: an HMAC key at least as long as the hash output.
const MIN_SECRET_BYTES = 32;
const MAX_VERIFIED_TOKENS = 10_000;
const HMAC = ["HS256", "HS384", "HS512"];
const PUBLIC_KEY = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
// jose's codes for a JWKS it could not get: the issuer is down, not the token bad.
const JWKS_UNAVAILABLE = new Set(["ERR_JWKS_TIMEOUT", "ERR_JOSE_GENERIC", "ERR_JWKS_INVALID"]);
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
// jose's own default: how long it uses a fetched key set before it fetches it again.
const JWKS_MAX_AGE_MS = 600_000;
// Where a JWKS may be fetched over plain http: this machine, which no network can tamper with.
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * A token checker for `auth`: the algorithms are pinned (HS256 for a secret, public-key ones for
 * a JWKS), and `sub` is required. Throws a `TypeError` at once for a weak secret, an algorithm
 * that does not fit the key, a JWKS over plain http off this machine or without an audience.
 */
export function createVerifier(auth: SessionServerAuth): VerifyToken {
  const options: JWTVerifyOptions = {
    algorithms: pinnedAlgorithms(auth),
    requiredClaims: ["sub", "exp"],
  };
  if (auth.issuer !== undefined) options.issuer = auth.issuer;
  if (auth.audience !== undefined) options.audience = auth.audience;
  const maxAge =
    auth.maxTokenAge === undefined ? Infinity : parseDuration(auth.maxTokenAge, "auth.maxTokenAge");
  // jose takes seconds; it then requires `iat`.
  if (maxAge !== Infinity) options.maxTokenAge = maxAge / 1000;
  const { key, keySet } = "jwks" in auth ? remoteKeys(auth) : localKeys(auth.secret);
  const verified = new VerifiedTokens();
  return async (authorization) => {
    const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
    if (!token) throw new AuthError("missing bearer token");
    const checkedWith = keySet();
    const known = verified.get(token);
    if (known !== undefined && known.keySet === checkedWith) return known;
    try {
      const { payload } = await jwtVerify(token, key, options);
      const sub = owner(payload.sub);
      // jose checked that `exp` is there (requiredClaims), and `iat` with a maxTokenAge.
      const until = Math.min((payload.exp ?? 0) * 1000, (payload.iat ?? 0) * 1000 + maxAge);
      // Not when the key set changed meanwhile: the token may have been checked with the old one.
      if (checkedWith !== undefined && checkedWith === keySet()) {
        verified.add(token, sub, until, checkedWith);
      }
      return { owner: sub, until };
    } catch (error) {
      const refused = refusal(error, "jwks" in auth);
      // The JWKS could not be fetched again (503): a token checked with the last set stands
      // until it can be, so an issuer's outage does not sign everyone out. A set that was
      // fetched and lacks the token's key is a 401 (never this branch).
      if (refused instanceof HttpError) {
        if (known !== undefined) return known;
      } else verified.delete(token);
      throw refused;
    }
  };
}

/** How a verifier gets its keys, and which key set it holds now (`undefined`: none yet, or stale). */
interface Keys {
  key: Parameters<typeof jwtVerify>[1];
  keySet: () => number | undefined;
}

function localKeys(secret: string | Uint8Array): Keys {
  // A secret never changes under a running server.
  return { key: hmacKeys(secretKey(secret)), keySet: () => 0 };
}

/**
 * The issuer's keys through jose, which fetches the set again after 10 minutes (or when a token
 * names a key it lacks). The set in use is named by when jose fetched it (its `jwksCache`), so
 * that a token is remembered only as long as that set is the one jose would check it with: a key
 * the issuer removed stops working at the next fetch, not when its tokens expire.
 */
function remoteKeys(auth: SessionServerAuth & { jwks: string }): Keys {
  if (auth.audience === undefined && auth.anyAudience !== true) {
    throw new TypeError(
      "auth.audience is required with auth.jwks: an identity provider signs tokens for every app it serves, and the audience tells this API's apart; set auth.anyAudience: true if its tokens carry none",
    );
  }
  const fetched: { uat?: number } = {};
  const key = createRemoteJWKSet(jwksUrl(auth.jwks), {
    cacheMaxAge: JWKS_MAX_AGE_MS,
    [jwksCache]: fetched as Record<string, never>,
  });
  const keySet = () => {
    const at = fetched.uat;
    return at !== undefined && Date.now() < at + JWKS_MAX_AGE_MS ? at : undefined;
  };
  return { key, keySet };
}

/** The JWKS URL: https, or http to this machine (a proxy or a test issuer). */
function jwksUrl(jwks: string): URL {
  const url = URL.canParse(jwks) ? new URL(jwks) : undefined;
  const http = url?.protocol === "http:" && LOOPBACK.has(url.hostname);
  if (url && (url.protocol === "https:" || http)) return url;
  const given = url ? `${url.protocol}//${url.host}` : JSON.stringify(jwks);
  throw new TypeError(
    `auth.jwks must be an https URL (http only to 127.0.0.1, ::1 or localhost), got ${given}`,
  );
}

/**
 * Tokens this verifier accepted, until they expire (or pass `maxTokenAge`) and while the key set
 * they were checked with is the one in use: a client sends the same token with every request,
 * and checking its signature again is most of a request's cost (jose imports the key on every
 * call). Issuer and audience are fixed per verifier, so a hit is as good as a check.
 */
class VerifiedTokens {
  private readonly tokens = new Map<string, Verified & { keySet: number }>();

  /** The token's entry until it expires, whichever key set it was checked with. */
  get(token: string): (Verified & { keySet: number }) | undefined {
    const hit = this.tokens.get(token);
    if (hit === undefined || hit.until > Date.now()) return hit;
    this.tokens.delete(token);
    return undefined;
  }

  delete(token: string): void {
    this.tokens.delete(token);
  }

  add(token: string, sub: string, expires: number, keySet: number): void {
    // Bounded: the oldest entry (first in the Map's order) makes room.
    if (this.tokens.size >= MAX_VERIFIED_TOKENS) {
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
    this.tokens.set(token, { owner: sub, until: expires, keySet });
  }
}

/** The secret as a WebCrypto key per HMAC algorithm, imported once rather than per request. */
function hmacKeys(
  secret: Uint8Array<ArrayBuffer>,
): (header: { alg?: string }) => Promise<CryptoKey> {
  const keys = new Map<string, Promise<CryptoKey>>();
  return ({ alg = "" }) => {
    let key = keys.get(alg);
    if (key === undefined) {
      // jose checked `alg` against the pinned list before it asks for a key.
      const hash = `SHA-${alg.slice(2)}`;
      key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["verify"]);
      keys.set(alg, key);
    }
    return key;
  };
}

function secretKey(secret: string | Uint8Array): Uint8Array<ArrayBuffer> {
  // A copy: the caller's bytes may change (or sit in a SharedArrayBuffer, which WebCrypto refuses).
  const key =
    typeof secret === "string" ? new TextEncoder().encode(secret) : new Uint8Array(secret);
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(
      `auth.secret must be at least ${MIN_SECRET_BYTES} bytes, got ${key.byteLength}`,
    );
  }
  return key;
}

function pinnedAlgorithms(auth: SessionServerAuth): string[] {
  const fitting = "secret" in auth ? HMAC : PUBLIC_KEY;
  const algorithms = auth.algorithms ?? ("secret" in auth ? ["HS256"] : PUBLIC_KEY);
  const misfit = algorithms.find((alg) => !fitting.includes(alg));
  if (misfit !== undefined || algorithms.length === 0) {
    const kind = "secret" in auth ? "a secret" : "a JWKS";
    throw new TypeError(
      `auth.algorithms must be some of ${fitting.join(", ")} with ${kind}, got ${JSON.stringify(algorithms)}`,
    );
  }
  return algorithms;
}

/** The token's `sub`, which must be what an id may be (every store holds owner and id alike). */
function owner(sub: unknown): string {
  try {
    checkId(sub);
    return sub;
  } catch {
    throw new AuthError(
      `the token's sub must be a string of 1 to ${MAX_ID_LENGTH} characters, without NUL or lone surrogates`,
    );
  }
}

/**
 * What a failed check becomes. The message says which check failed (expired, wrong issuer) but
 * nothing about the key; a JWKS that cannot be fetched is the server's problem (503), not a bad
 * token (401), so that clients do not throw away good tokens.
 */
function refusal(error: unknown, remote: boolean): Error {
  if (error instanceof AuthError) return error;
  const isJose = error instanceof errors.JOSEError;
  if (remote && (!isJose || JWKS_UNAVAILABLE.has(error.code))) {
    return new HttpError(
      503,
      "BACKEND_UNAVAILABLE",
      "could not fetch the JSON Web Key Set to check the token; try again later",
      { cause: error },
    );
  }
  if (!isJose) return error instanceof Error ? error : new Error(String(error));
  if (error instanceof errors.JWTExpired) {
    // jose says JWTExpired for an `iat` past maxTokenAge too.
    const what = error.claim === "iat" ? "token too old" : "token expired";
    return new AuthError(what, { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthError(`token refused: ${error.message}`, { cause: error });
  }
  return new AuthError("invalid token", { cause: error });
}
