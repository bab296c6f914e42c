import { InvalidDataError } from "../errors.ts";

/** Options of `hashPassword`. */
export interface HashPasswordOptions {
  /** PBKDF2 iterations, from 1,000 to 10,000,000; default 600,000 (OWASP 2023 for PBKDF2-SHA256). */
  iterations?: number | undefined;
}

const ID = "pbkdf2-sha256";
const DEFAULT_ITERATIONS = 600_000;
// The bounds verifyPassword accepts, so hashes made under an older default keep working. Below
// 1,000 a hash is barely stretched; above 10,000,000 one check takes seconds, a denial of service
// waiting to happen if the stored string was tampered with.
const MIN_ITERATIONS = 1_000;
const MAX_ITERATIONS = 10_000_000;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// What verifyPassword reads: salts (at least 16 bytes, NIST SP 800-132 §5.1) and keys of 16 to
// 64 bytes, so no string longer than `$pbkdf2-sha256$i=10000000$` + two 64-byte fields in
// base64 (86 characters each) and a `$` can be one. Checked first: a 10 MB string took 1.7 s
// to refuse when it was split and decoded before its parts were measured.
const MAX_HASH_CHARS = 199;
const FORMAT = 'hash must be a "$pbkdf2-sha256$i=…$salt$hash" string';

/**
 * Hashes a password with PBKDF2-HMAC-SHA256 (WebCrypto, the same in browsers and Node): a random
 * 16-byte salt, a 32-byte key, returned as a PHC string `$pbkdf2-sha256$i=600000$<salt>$<hash>`
 * where salt and hash are standard base64 (RFC 4648 §4) without `=` padding, as the PHC string
 * format specifies. A non-string or empty password rejects with `InvalidDataError`.
 * Browsers offer WebCrypto only in secure contexts (HTTPS, localhost).
 * @example
 * const stored = await hashPassword("correct horse battery staple")
 * // "$pbkdf2-sha256$i=600000$Zt3Y…$q0x…"
 */
export async function hashPassword(
  password: string,
  options?: HashPasswordOptions,
): Promise<string> {
  checkPassword(password);
  const iterations = options?.iterations ?? DEFAULT_ITERATIONS;
  if (!isIterationCount(iterations)) {
    throw new InvalidDataError(
      `iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, got ${String(iterations)}`,
    );
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await pbkdf2Sha256(password, salt, iterations, KEY_BYTES);
  return `$${ID}$i=${iterations}$${encodeBase64(salt)}$${encodeBase64(key)}`;
}

/**
 * Checks a password against a string from `hashPassword`, comparing in constant time. Any
 * iteration count from 1,000 to 10,000,000 is accepted, so old hashes keep working after the
 * default rises, with salts of 16 to 64 bytes and keys of 16 to 64. A wrong password resolves
 * `false`; a hash that is not such a string (corrupt or foreign data, a mixed-up column, a salt
 * under 16 bytes, a string too long to be one, refused before it is decoded) and a non-string or
 * empty password reject with `InvalidDataError`, whose message never contains the hash or the
 * password.
 * @example
 * if (!(await verifyPassword(form.password, user.passwordHash))) throw new AuthError("wrong password")
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  checkPassword(password);
  const { iterations, salt, key } = parseHash(hash);
  const derived = await pbkdf2Sha256(password, salt, iterations, key.length);
  return constantTimeEqual(derived, key);
}

/**
 * PBKDF2-HMAC-SHA256 of the NFC form of `password`. Not exported from the package; shared with
 * the tests (known-answer vectors) and with passphrase-derived encryption keys.
 * @internal
 */
export async function pbkdf2Sha256(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    // Browsers hide crypto.subtle outside secure contexts; say so rather than "undefined is not…".
    throw new Error("WebCrypto (crypto.subtle) is unavailable: use HTTPS or localhost");
  }
  // "é" typed on one keyboard may be U+00E9 and on another "e" + U+0301 (and macOS file dialogs
  // produce NFD): the same password must give the same bytes, so hash its NFC form.
  const bytes = new TextEncoder().encode(password.normalize("NFC"));
  const material = await subtle.importKey("raw", bytes, "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    length * 8,
  );
  return new Uint8Array(bits);
}

/**
 * True if `a` and `b` hold the same bytes. The time taken depends on the length only, never on
 * where the first difference is, so a timing attacker learns nothing about a stored hash.
 * @internal
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths are not secret here: verifyPassword derives as many bytes as the stored hash has.
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function checkPassword(password: unknown): asserts password is string {
  if (typeof password === "string" && password !== "") return;
  const given = typeof password === "string" ? "an empty string" : typeOf(password);
  throw new InvalidDataError(`password must be a non-empty string, got ${given}`);
}

function parseHash(hash: unknown): {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  key: Uint8Array<ArrayBuffer>;
} {
  // Messages name the faulty part but never quote it: a hash is a secret worth guessing against.
  if (typeof hash !== "string") throw new InvalidDataError(`${FORMAT}, got ${typeOf(hash)}`);
  if (hash.length > MAX_HASH_CHARS) {
    throw new InvalidDataError(
      `${FORMAT} of at most ${MAX_HASH_CHARS} characters, got ${hash.length}`,
    );
  }
  const fields = hash.split("$");
  if (fields.length !== 5 || fields[0] !== "") {
    throw new InvalidDataError(`${FORMAT}, got one without its four $-separated parts`);
  }
  const [, id, params = "", saltText = "", keyText = ""] = fields;
  if (id !== ID) throw new InvalidDataError(`${FORMAT}, got another algorithm`);
  // PHC decimals have no sign and no leading zero; the length cap keeps Number() exact.
  const iterations = Number(/^i=([1-9][0-9]{0,8})$/.exec(params)?.[1]);
  if (!isIterationCount(iterations)) {
    throw new InvalidDataError(
      `${FORMAT} with i an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`,
    );
  }
  return { iterations, salt: bytes(saltText, "salt"), key: bytes(keyText, "hash") };
}

/** A salt or key: 16 to 64 bytes of unpadded base64. */
function bytes(text: string, what: string): Uint8Array<ArrayBuffer> {
  const decoded = decodeBase64(text);
  if (decoded && decoded.length >= 16 && decoded.length <= 64) return decoded;
  throw new InvalidDataError(
    `${FORMAT}, got a ${what} that is not 16 to 64 bytes of unpadded base64`,
  );
}

function isIterationCount(value: unknown): value is number {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= MIN_ITERATIONS &&
    value <= MAX_ITERATIONS
  );
}

function typeOf(value: unknown): string {
  return value === null ? "null" : typeof value;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "");
}

/** Unpadded standard base64 to bytes; undefined unless the text is its canonical encoding. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // atob ignores stray bits in the last character; two spellings of one hash are not allowed.
  return encodeBase64(bytes) === text ? bytes : undefined;
}
