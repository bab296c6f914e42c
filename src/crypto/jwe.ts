// Session data encrypted at rest as a compact JWE (RFC 7516 §7.1) with `alg: "dir"` and
// `enc: "A256GCM"` (RFC 7518 §4.5, §5.3). Written with WebCrypto alone, so that the browser bundle
// carries no JOSE library, yet readable and writable by one (jose's compactDecrypt/CompactEncrypt).
// Internal to the manager: nothing here is exported from the package.
import { DecryptionError, InvalidDataError } from "../errors.ts";

/**
 * A key and the id written as `kid` into the header of what it encrypts.
 * @internal
 * @inline
 */
export interface EncryptionKey {
  readonly id: string;
  readonly key: CryptoKey;
}

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
  { id, key }: EncryptionKey,
): Promise<string> {
  let json: string | undefined;
  try {
    json = JSON.stringify(plaintext);
  } catch {
    // Not the TypeError's message: it may name the data's properties.
    throw new InvalidDataError("data must be JSON, got a cycle or a BigInt");
  }
  if (json === undefined) throw new InvalidDataError(`data must be JSON, got ${typeof plaintext}`);
  // RFC 7516 §5.1 steps 13-14: the first part is BASE64URL(UTF8(header)) and the AAD is the ASCII
  // bytes of that part.
  const header = toBase64Url(
    encodeUtf8(JSON.stringify({ alg: "dir", enc: "A256GCM", kid: id, sid: sessionId })),
  );
  // RFC 7518 §5.3: a 96-bit IV (fresh each time) and a 128-bit tag, WebCrypto's default.
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encodeUtf8(header) },
      key,
      encodeUtf8(json),
    ),
  );
  // WebCrypto returns ciphertext ‖ tag; JWE carries the tag as a part of its own. With "dir" the
  // Encrypted Key is the empty octet sequence (RFC 7518 §4.5), hence two dots in a row.
  const tag = sealed.length - 16;
  return `${header}..${toBase64Url(iv)}.${toBase64Url(sealed.subarray(0, tag))}.${toBase64Url(sealed.subarray(tag))}`;
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
  jwe: unknown,
  sessionId: string,
  keys: readonly EncryptionKey[],
): Promise<unknown> {
  try {
    // String(): a stored value of another type fails below as malformed, like any other. With
    // "dir" the Encrypted Key is empty; the IV is 12 bytes and the tag 16, in base64url.
    const text = String(jwe);
    if (!/^[\w-]+\.\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/.test(text)) {
      throw new Error("not a compact dir/A256GCM JWE");
    }
    const [header = "", , iv = "", ciphertext = "", tag = ""] = text.split(".");
    const kid = readHeader(fromBase64Url(header), sessionId);
    // WebCrypto wants ciphertext ‖ tag in one buffer.
    const body = fromBase64Url(ciphertext);
    const sealed = new Uint8Array(body.length + 16);
    sealed.set(body);
    sealed.set(fromBase64Url(tag), body.length);
    // RFC 7516 §5.2 step 14: the AAD is the encoded header as it stands, as ASCII bytes.
    const params = { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encodeUtf8(header) };
    const chosen = keys.filter((entry) => entry.id === kid);
    // All at once, since at most one can open it; with no key at all, Promise.any rejects too.
    const plain = await Promise.any(
      (chosen[0] ? chosen : keys).map(({ key }) => crypto.subtle.decrypt(params, key, sealed)),
    );
    try {
      return JSON.parse(decodeUtf8(new Uint8Array(plain)));
    } catch {
      // Not the SyntaxError itself: V8 quotes the text in its message, and the text is secret.
      throw new Error("the plaintext is not JSON");
    }
  } catch (cause) {
    throw new DecryptionError({ cause });
  }
}

/** The `kid` of a protected header that this module understands and that names `sessionId`. */
function readHeader(json: Uint8Array, sessionId: string): string | undefined {
  const { alg, enc, kid, sid, crit, zip } = JSON.parse(decodeUtf8(json));
  // RFC 7516 §4.1.13: a recipient must reject "crit" extensions it does not understand; this
  // one understands none. "zip" (§4.1.3) is never written: compression would leak the shape.
  if (
    alg !== "dir" ||
    enc !== "A256GCM" ||
    crit !== undefined ||
    zip !== undefined ||
    (kid !== undefined && typeof kid !== "string")
  ) {
    throw new Error("unsupported protected header");
  }
  // The header is authenticated (it is the AAD), so a sid edited to match fails decryption.
  if (sid !== sessionId) throw new Error("sid is not this session's id");
  return kid;
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

// Base64url without padding (RFC 7515 §2, RFC 4648 §5), strict: each byte string has exactly one
// spelling (RFC 4648 §3.5), so no padding, whitespace or other alphabet, and the unused low bits
// of the last character must be zero. Otherwise a flipped last character could decode to the
// same tag and an edited JWE would still decrypt. Native where the platform has it (Chromium
// 140, Firefox 133, Safari 18.2: 2-6× faster there); elsewhere table-driven by hand, since
// btoa/atob need a binary string and character swaps around them, and were 2-5× slower on
// kilobytes in Node 20 (whose atob is plain JS). Tables are built on first use, not on import.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NATIVE = { alphabet: "base64url", omitPadding: true, lastChunkHandling: "strict" };
let codes: Uint8Array | undefined;
let values: Int8Array | undefined;

/** `bytes` as unpadded base64url. @internal */
export function toBase64Url(bytes: Uint8Array): string {
  const native = (bytes as { toBase64?: (options: object) => string }).toBase64;
  return native ? native.call(bytes, NATIVE) : decodeUtf8(encode(bytes));
}

/** Canonical unpadded base64url as bytes; anything else throws. @internal */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const native = (
    Uint8Array as { fromBase64?: (text: string, options: object) => Uint8Array<ArrayBuffer> }
  ).fromBase64;
  // Characters that are not ASCII become bytes from 128 up, none of which is in the alphabet.
  if (!native) return decode(encodeUtf8(text));
  // fromBase64 skips whitespace, and "strict" (which refuses unused bits that are not zero)
  // wants the padding: only the alphabet gets through, padded here.
  if (!/^[\w-]*$/.test(text)) throw new Error("not canonical unpadded base64url");
  const padded = text + "===".slice(0, (4 - (text.length % 4)) % 4);
  return native(padded, NATIVE);
}

/** `bytes` as unpadded base64url ASCII codes. */
function encode(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  codes ??= encodeUtf8(ALPHABET);
  // A local: a module's `let` read in the loop costs a check each time.
  const table = codes;
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3));
  const whole = bytes.length - (bytes.length % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const n =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[o++] = table[n >>> 18] as number;
    out[o++] = table[(n >>> 12) & 63] as number;
    out[o++] = table[(n >>> 6) & 63] as number;
    out[o++] = table[n & 63] as number;
  }
  if (whole < bytes.length) {
    // 1 or 2 trailing bytes, padded with zero bytes to a group: 2 or 3 of its 4 characters.
    const last = new Uint8Array(3);
    last.set(bytes.subarray(whole));
    out.set(encode(last).subarray(0, bytes.length - whole + 1), o);
  }
  return out;
}

/** Unpadded base64url, as ASCII codes, decoded strictly (see above). */
function decode(ascii: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!values) {
    values = new Int8Array(256).fill(-1);
    for (let i = 0; i < 64; i++) values[ALPHABET.charCodeAt(i)] = i;
  }
  const table = values;
  const end = ascii.length;
  const whole = end - (end & 3);
  const out = new Uint8Array((end * 3) >>> 2);
  let at = 0;
  let bad = 0;
  for (let i = 0; i < whole; i += 4) {
    const n =
      ((table[ascii[i] as number] as number) << 18) |
      ((table[ascii[i + 1] as number] as number) << 12) |
      ((table[ascii[i + 2] as number] as number) << 6) |
      (table[ascii[i + 3] as number] as number);
    // A byte outside the alphabet is -1 in the table, which makes `n` negative.
    bad |= n;
    // A typed array keeps the low 8 bits.
    out[at++] = n >>> 16;
    out[at++] = n >>> 8;
    out[at++] = n;
  }
  if (whole < end) {
    // The last 2 or 3 characters, padded with "A" (zero bits) to a group: 1 or 2 bytes, then
    // the unused bits, which must be zero. 1 character is not even a byte (4n+1 characters).
    const group = new Uint8Array(4).fill(65);
    group.set(ascii.subarray(whole));
    const last = decode(group);
    if (end - whole === 1 || last[end - whole - 1]) bad = -1;
    out.set(last.subarray(0, end - whole - 1), at);
  }
  if (bad < 0) throw new Error("not canonical unpadded base64url");
  return out;
}
