// The id cookie's signature: HMAC-SHA-256 over the id, in Hono's signed-cookie format
// (`<id>.<base64 HMAC>`, the same bytes `setSignedCookie` writes), so a Hono app can read the id
// with `getSignedCookie(c, secret, name)` too. Hono's own helpers take one secret and import it
// on every call; here every key is imported once, the first one signs and each one verifies
// (key rotation), and the comparison runs in constant time.
import { constantTimeEqual } from "../crypto/password.ts";
import { AuthError } from "../errors.ts";

/** Shortest secret accepted: 32 characters, HMAC-SHA-256's output size (RFC 2104 §3). */
export const MIN_SECRET_LENGTH = 32;

// What createSessionId() makes (22 base64url characters), with room; anything else is no id.
const ID_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;
// A base64 HMAC-SHA-256: 32 bytes, 44 characters with one "=" of padding.
const SIGNATURE_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

const HMAC = { name: "HMAC", hash: "SHA-256" } as const;

/**
 * Cookie values verified lately, each with its id: a signed-in user's cookie is checked once, not
 * on every request (WebCrypto's HMAC costs ~20 µs a call in Node, more than the rest of a load).
 * Only values that verified are kept, and the keys never change under a signer, so a hit is as
 * good as the HMAC; a hit tells nothing to whoever lacks the exact value. Oldest dropped first.
 */
const VERIFIED_KEPT = 10_000;

/** Signs ids with the first key, verifies them with any. */
export interface Signer {
  /** `<id>.<signature>`, the cookie's value before URI encoding. */
  sign(id: string): Promise<string>;
  /** The id `value` was signed for by one of the keys, or undefined (forged, edited, unknown key). */
  verify(value: string): Promise<string | undefined>;
  /**
   * The id of a value that verified lately, at once (undefined: `verify` it): a signed-in user's
   * request then waits for nothing before its session is read.
   */
  verified(value: string): string | undefined;
}

/** Checks the keys at once (`AuthError` for a short or missing one); imports them on first use. */
export function createSigner(secret: string | readonly string[]): Signer {
  const secrets = typeof secret === "string" ? [secret] : [...(secret ?? [])];
  if (secrets.length === 0) throw new AuthError("cookie secret must list at least one key");
  secrets.forEach((key, i) => {
    if (typeof key !== "string" || key.length < MIN_SECRET_LENGTH) {
      const got = typeof key === "string" ? `${key.length} characters` : typeof key;
      throw new AuthError(
        `cookie secret ${i} must be at least ${MIN_SECRET_LENGTH} characters, got ${got}`,
      );
    }
  });
  let keys: Promise<CryptoKey[]> | undefined;
  const verified = new Map<string, string>();
  const imported = () => {
    keys ??= Promise.all(secrets.map(importKey));
    return keys;
  };
  return {
    async sign(id) {
      const [first] = await imported();
      return `${id}.${toBase64(await mac(first as CryptoKey, id))}`;
    },
    verified: (value) => verified.get(value),
    async verify(value) {
      const known = verified.get(value);
      if (known !== undefined) return known;
      const dot = value.lastIndexOf(".");
      const id = value.slice(0, dot);
      const signature = value.slice(dot + 1);
      if (dot < 0 || !ID_SHAPE.test(id) || !SIGNATURE_SHAPE.test(signature)) return undefined;
      const given = fromBase64(signature);
      for (const key of await imported()) {
        if (!constantTimeEqual(given, await mac(key, id))) continue;
        if (verified.size >= VERIFIED_KEPT) verified.delete(verified.keys().next().value as string);
        verified.set(value, id);
        return id;
      }
      return undefined;
    },
  };
}

function importKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), HMAC, false, ["sign"]);
}

async function mac(key: CryptoKey, id: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(HMAC.name, key, new TextEncoder().encode(id)));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
