import { createRemoteJWKSet, errors, type JWTVerifyOptions, jwtVerify } from "jose";
import { MAX_ID_LENGTH } from "../constants.ts";
import { AuthError } from "../errors.ts";
import { isId } from "../session.ts";
import { HttpError } from "./errors.ts";
import type { SessionServerAuth } from "./options.ts";

/** Checks an `Authorization` header; resolves to the owner (the token's `sub`). */
export type VerifyToken = (authorization: string | null) => Promise<string>;

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

/**
 * A token checker for `auth`: the algorithms are pinned (HS256 for a secret, public-key ones for
 * a JWKS), and `sub` is required. Throws a `TypeError` at once for a weak secret or an algorithm
 * that does not fit the key.
 */
export function createVerifier(auth: SessionServerAuth): VerifyToken {
  const remote = "jwks" in auth;
  const key = remote ? createRemoteJWKSet(new URL(auth.jwks)) : hmacKeys(secretKey(auth.secret));
  const options: JWTVerifyOptions = {
    algorithms: pinnedAlgorithms(auth),
    requiredClaims: ["sub", "exp"],
  };
  if (auth.issuer !== undefined) options.issuer = auth.issuer;
  if (auth.audience !== undefined) options.audience = auth.audience;
  const verified = new VerifiedTokens();
  return async (authorization) => {
    const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
    if (!token) throw new AuthError("missing bearer token");
    const known = verified.get(token);
    if (known !== undefined) return known;
    try {
      const { payload } = await jwtVerify(token, key, options);
      const sub = owner(payload.sub);
      // jose checked that `exp` is there (requiredClaims); without one, nothing is kept.
      verified.add(token, sub, (payload.exp ?? 0) * 1000);
      return sub;
    } catch (error) {
      throw refusal(error, remote);
    }
  };
}

/**
 * Tokens this verifier accepted, until they expire: a client sends the same token with every
 * request, and checking its signature again is most of a request's cost (jose imports the key
 * on every call). Issuer and audience are fixed per verifier, so a hit is as good as a check.
 */
class VerifiedTokens {
  private readonly tokens = new Map<string, { sub: string; expires: number }>();

  get(token: string): string | undefined {
    const hit = this.tokens.get(token);
    if (hit === undefined) return undefined;
    if (hit.expires > Date.now()) return hit.sub;
    this.tokens.delete(token);
    return undefined;
  }

  add(token: string, sub: string, expires: number): void {
    // Bounded: the oldest entry (first in the Map's order) makes room.
    if (this.tokens.size >= MAX_VERIFIED_TOKENS) {
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
    this.tokens.set(token, { sub, expires });
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
  if (isId(sub)) return sub;
  throw new AuthError(
    `the token's sub must be a string of 1 to ${MAX_ID_LENGTH} characters, without NUL or lone surrogates`,
  );
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
  if (error instanceof errors.JWTExpired) return new AuthError("token expired", { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthError(`token refused: ${error.message}`, { cause: error });
  }
  return new AuthError("invalid token", { cause: error });
}
