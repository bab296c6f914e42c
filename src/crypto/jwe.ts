// Session data encrypted at rest as a compact JWE (RFC 7516 §7.1) with `alg: "dir"` and
// `enc: "A256GCM"` (RFC 7518 §4.5, §5.3). Written with WebCrypto alone, so that the browser bundle
// carries no JOSE library, yet readable and writable by one (jose's compactDecrypt/CompactEncrypt).
// Internal to the manager: nothing here is exported from the package.
import { DecryptionError, InvalidDataError } from "../errors.ts";

/** A key and the id written as `kid` into the header of what it encrypts. @internal */
export interface EncryptionKey {
  readonly id: string;
  readonly key: CryptoKey;
}

// RFC 7518 §5.3: A256GCM uses a 96-bit IV and a 128-bit Authentication Tag.
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Their lengths in unpadded base64url.
const IV_CHARS = 16;
const TAG_CHARS = 22;
const DOT = 0x2e;

/**
 * Encrypts `JSON.stringify(plaintext)` (UTF-8) under `key`, binding `sessionId` into the
 * protected header as `sid` so that the record fails to decrypt under any other id. A fresh
 * random IV per call: AES-GCM loses confidentiality and integrity if one ever repeats under a key.
 * A value JSON cannot hold at all (`undefined`, a function) rejects with `InvalidDataError`.
 * @internal
 */
export async function encryptData(
  plaintext: unknown,
  sessionId: string,
  key: EncryptionKey,
): Promise<string> {
  const json = toJson(plaintext);
  const header = encodeUtf8(
    JSON.stringify({ alg: "dir", enc: "A256GCM", kid: key.id, sid: sessionId }),
  );
  // RFC 7516 §5.1 steps 13-14: the first part is BASE64URL(UTF8(header)) and the AAD is the ASCII
  // bytes of that part. The part is built from these very bytes, so the two always match.
  const aad = new Uint8Array(encodedLength(header.length));
  encodeInto(header, aad, 0);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad, tagLength: TAG_BYTES * 8 },
      key.key,
      encodeUtf8(json),
    ),
  );
  // WebCrypto returns ciphertext ‖ tag; JWE carries the tag as a part of its own. With "dir" the
  // Encrypted Key is the empty octet sequence (RFC 7518 §4.5), hence two dots in a row.
  const split = sealed.length - TAG_BYTES;
  const out = new Uint8Array(aad.length + 4 + IV_CHARS + encodedLength(split) + TAG_CHARS);
  out.set(aad);
  let at = aad.length;
  out[at++] = DOT;
  out[at++] = DOT;
  at = encodeInto(iv, out, at);
  out[at++] = DOT;
  at = encodeInto(sealed.subarray(0, split), out, at);
  out[at++] = DOT;
  encodeInto(sealed.subarray(split), out, at);
  // One decode of ASCII bytes gives a flat string, quick to read back character by character.
  return decodeUtf8(out);
}

/**
 * Decrypts a string from `encryptData` (or any compact dir/A256GCM JWE whose header carries this
 * `sid`) and parses its JSON. The key is chosen by `kid`; a missing or unknown `kid` tries every
 * key. Any failure, whether malformed, edited, moved to another id, a wrong key or a plaintext
 * that is not JSON, rejects with the same generic `DecryptionError` whose `cause` has the reason:
 * telling the cases apart would help an attacker more than a user.
 * @internal
 */
export async function decryptData(
  jwe: string,
  sessionId: string,
  keys: readonly EncryptionKey[],
): Promise<unknown> {
  try {
    return await open(jwe, sessionId, keys);
  } catch (cause) {
    throw new DecryptionError({ cause });
  }
}

async function open(
  jwe: unknown,
  sessionId: string,
  keys: readonly EncryptionKey[],
): Promise<unknown> {
  if (typeof jwe !== "string") throw new Error(`a JWE must be a string, got ${typeof jwe}`);
  // Parts are read in place by offset rather than split out: the ciphertext is most of the string.
  const [d1, d2, d3, d4] = dots(jwe);
  const header = jwe.slice(0, d1);
  const { kid, sid } = parseHeader(header);
  // The header is authenticated below (it is the AAD), so a sid edited to match fails there.
  if (sid !== sessionId) throw new Error("the header's sid is not this session's id");
  if (d2 !== d1 + 1) throw new Error('with alg "dir" the Encrypted Key must be empty');
  if (d3 - d2 - 1 !== IV_CHARS) throw new Error(`the IV must be ${IV_BYTES} bytes`);
  if (jwe.length - d4 - 1 !== TAG_CHARS) throw new Error(`the tag must be ${TAG_BYTES} bytes`);
  const iv = new Uint8Array(IV_BYTES);
  decodeInto(jwe, d2 + 1, d3, iv, 0);
  // WebCrypto wants ciphertext ‖ tag in one buffer: decode both parts straight into it.
  const length = decodedLength(d4 - d3 - 1);
  const sealed = new Uint8Array(length + TAG_BYTES);
  decodeInto(jwe, d3 + 1, d4, sealed, 0);
  decodeInto(jwe, d4 + 1, jwe.length, sealed, length);
  const params = { name: "AES-GCM", iv, additionalData: encodeUtf8(header), tagLength: 128 };
  const chosen = keys.filter((entry) => entry.id === kid);
  // Created only when needed: an Error captures a stack, which costs more than the rest of this.
  let failure: unknown;
  for (const { key } of chosen.length > 0 ? chosen : keys) {
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(params, key, sealed);
    } catch (error) {
      failure = error;
      continue;
    }
    return parseJson(decodeUtf8(new Uint8Array(plain)), "the plaintext");
  }
  throw failure ?? new Error("no key to decrypt with");
}

function toJson(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    // Not the TypeError's message: it may name the data's properties.
    throw new InvalidDataError("data must be JSON, got a cycle or a BigInt");
  }
  if (json === undefined) throw new InvalidDataError(`data must be JSON, got ${typeof data}`);
  return json;
}

/** The positions of the 4 dots of a compact JWE (RFC 7516 §7.1); any other count throws. */
function dots(jwe: string): [number, number, number, number] {
  const found: number[] = [];
  for (let at = jwe.indexOf("."); at !== -1 && found.length < 5; at = jwe.indexOf(".", at + 1)) {
    found.push(at);
  }
  if (found.length !== 4) throw new Error("a compact JWE has exactly 5 parts");
  return found as [number, number, number, number];
}

function parseHeader(encoded: string): { kid: string | undefined; sid: unknown } {
  const header = parseJson(decodeUtf8(fromBase64Url(encoded)), "the protected header");
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error("the protected header is not a JSON object");
  }
  const { alg, enc, kid, sid, crit, zip } = header as Record<string, unknown>;
  if (alg !== "dir" || enc !== "A256GCM") throw new Error('only alg "dir", enc "A256GCM"');
  // RFC 7516 §4.1.13: a recipient must reject "crit" extensions it does not understand; this one
  // understands none. "zip" (§4.1.3) is never written: compression would leak the data's shape.
  if (crit !== undefined || zip !== undefined) throw new Error('"crit" and "zip" are unsupported');
  if (kid !== undefined && typeof kid !== "string") throw new Error("kid must be a string");
  return { kid, sid };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not the SyntaxError itself: V8 quotes the text in its message, and the text is secret.
    throw new Error(`${what} is not JSON`);
  }
}

let encoder: TextEncoder | undefined;
let decoder: TextDecoder | undefined;

function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  encoder ??= new TextEncoder();
  return encoder.encode(text);
}

function decodeUtf8(bytes: Uint8Array): string {
  // fatal: bytes that are not UTF-8 throw instead of turning into U+FFFD.
  decoder ??= new TextDecoder("utf-8", { fatal: true });
  return decoder.decode(bytes);
}

// Base64url without padding (RFC 7515 §2, RFC 4648 §5), table-driven by hand: btoa/atob need a
// binary string and character swaps around them, and were 2-5× slower on kilobytes of ciphertext
// in Node 20 (whose atob is plain JS). Tables are built on first use, not on import.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
let pairs: Uint16Array | undefined;
let values: Int8Array | undefined;

/** `bytes` as unpadded base64url. @internal */
export function toBase64Url(bytes: Uint8Array): string {
  const out = new Uint8Array(encodedLength(bytes.length));
  encodeInto(bytes, out, 0);
  return decodeUtf8(out);
}

/** Canonical unpadded base64url as bytes; anything else throws. @internal */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(decodedLength(text.length));
  decodeInto(text, 0, text.length, out, 0);
  return out;
}

function encodedLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/** Writes `bytes` as base64url ASCII codes into `out` from `at`; returns the end position. */
function encodeInto(bytes: Uint8Array, out: Uint8Array, at: number): number {
  // Two characters per 12 bits: one lookup in a 4096-entry table of character pairs.
  pairs ??= pairTable();
  const whole = bytes.length - (bytes.length % 3);
  let o = at;
  for (let i = 0; i < whole; i += 3) {
    const n =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    const high = pairs[n >>> 12] as number;
    const low = pairs[n & 4095] as number;
    out[o++] = high >>> 8;
    out[o++] = high & 255;
    out[o++] = low >>> 8;
    out[o++] = low & 255;
  }
  // 1 or 2 trailing bytes become 2 or 3 characters, unpadded.
  const rest = bytes.length - whole;
  if (rest > 0) {
    const n = ((bytes[whole] as number) << 8) | (rest === 2 ? (bytes[whole + 1] as number) : 0);
    out[o++] = ALPHABET.charCodeAt(n >>> 10);
    out[o++] = ALPHABET.charCodeAt((n >>> 4) & 63);
    if (rest === 2) out[o++] = ALPHABET.charCodeAt((n << 2) & 63);
  }
  return o;
}

/** How many bytes `chars` characters of unpadded base64url hold. */
function decodedLength(chars: number): number {
  if (chars % 4 === 1) throw new Error("base64url text cannot have 4n+1 characters");
  return (chars * 3) >>> 2;
}

/**
 * Decodes `text[start, end)`, unpadded base64url, into `out` from `at`. Strict, so that each byte
 * string has exactly one spelling (RFC 4648 §3.5): no padding, whitespace or other alphabet, and
 * the unused low bits of the last character must be zero. Otherwise a flipped last character
 * could decode to the same tag and an edited JWE would still decrypt.
 */
function decodeInto(text: string, start: number, end: number, out: Uint8Array, at: number): void {
  values ??= valueTable();
  const table = values;
  let o = at;
  let i = start;
  let bad = 0;
  for (; i + 4 <= end; i += 4) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    const c = text.charCodeAt(i + 2);
    const d = text.charCodeAt(i + 3);
    // Non-ASCII is caught here; masking keeps every table read in bounds (and fast).
    bad |= (a | b | c | d) & ~127;
    const n =
      ((table[a & 127] as number) << 18) |
      ((table[b & 127] as number) << 12) |
      ((table[c & 127] as number) << 6) |
      (table[d & 127] as number);
    // A character outside the alphabet is -1 in the table, which sets the bits above 24.
    bad |= n & ~0xffffff;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  // 4n+1 characters never get here: callers size `out` with decodedLength, which refuses them.
  const rest = end - i;
  if (rest > 1) {
    let n = 0;
    for (; i < end; i++) {
      const code = text.charCodeAt(i);
      bad |= code & ~127;
      n = (n << 6) | (table[code & 127] as number);
    }
    bad |= n & ~((1 << (rest * 6)) - 1);
    // 2 characters carry 1 byte and 4 unused bits, 3 carry 2 bytes and 2 unused bits.
    if (rest === 2) {
      bad |= n & 15;
      out[o] = n >>> 4;
    } else {
      bad |= n & 3;
      out[o] = n >>> 10;
      out[o + 1] = (n >>> 2) & 255;
    }
  }
  if (bad !== 0) throw new Error("not canonical unpadded base64url");
}

function pairTable(): Uint16Array {
  const table = new Uint16Array(4096);
  for (let i = 0; i < 4096; i++) {
    table[i] = (ALPHABET.charCodeAt(i >>> 6) << 8) | ALPHABET.charCodeAt(i & 63);
  }
  return table;
}

function valueTable(): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
}
