import { BackendError, InvalidDataError } from "../errors.ts";
import type { EncryptionKey } from "./jwe.ts";
import { pbkdf2Sha256 } from "./password.ts";

/**
 * The manager's `encryption` option: one AES-GCM 256 key; several for rotation (the first
 * encrypts, any decrypts); a passphrase; or `true` for a key generated once per namespace and
 * kept, non-extractable, in IndexedDB (browsers only). A record stored without encryption is
 * refused like a tampered one (`DecryptionError`, read as absent) unless an object form says
 * `allowPlaintext: true`; `true` never reads plaintext.
 * @example
 * const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
 * new SessionManager({ backend: "indexedDB", encryption: { key } })
 */
export type EncryptionOptions =
  | true
  | {
      /** An AES-GCM 256-bit key (create it non-extractable); records carry the key id `"k0"`. */
      readonly key: CryptoKey;
      /** Not with `key`. */
      readonly keys?: never;
      /** Not with `key`. */
      readonly passphrase?: never;
      /**
       * Reads records stored without encryption as they are (each is sealed when next
       * written), to migrate sessions stored before encryption was turned on. Default `false`:
       * such a record is refused like a tampered one, since anyone who can write the store
       * could have put it there.
       */
      readonly allowPlaintext?: boolean;
    }
  | {
      /** `{ id, key }` pairs: the first encrypts, every one decrypts (rotation). */
      readonly keys: readonly EncryptionKey[];
      /** Not with `keys`. */
      readonly key?: never;
      /** Not with `keys`. */
      readonly passphrase?: never;
      /** As in `{ key }`: reads records stored without encryption. Default `false`. */
      readonly allowPlaintext?: boolean;
    }
  | {
      /** Derived with PBKDF2-SHA256 (600,000 iterations) from a salt kept in the namespace. */
      readonly passphrase: string;
      /** Not with `passphrase`. */
      readonly key?: never;
      /** Not with `passphrase`. */
      readonly keys?: never;
      /** As in `{ key }`: reads records stored without encryption. Default `false`. */
      readonly allowPlaintext?: boolean;
    };

/**
 * Where the passphrase salt is kept: beside the namespace's records, so that every tab and
 * every reload derives the same key.
 * @internal
 */
export interface SaltStore {
  load(): Promise<Uint8Array | undefined>;
  /** Stores the salt unless one is stored already: a racing tab's salt wins. */
  save(salt: Uint8Array): Promise<void>;
}

/** What `resolveKeys` needs from the manager. @internal */
export interface KeyContext {
  readonly namespace: string;
  readonly salt: SaltStore;
  /** For `encryption: true`; default `globalThis.indexedDB`. */
  readonly indexedDB?: IDBFactory | undefined;
}

/** The keys of an option: the first encrypts, every one decrypts. @internal */
export type KeyRing = [EncryptionKey, ...EncryptionKey[]];

/** PBKDF2-SHA256 iterations for `{ passphrase }` (OWASP 2023). Changing it changes every key. */
export const PASSPHRASE_ITERATIONS = 600_000;

// Key ids (the JWE `kid`) of the single-key options. Fixed rather than derived from the key: a
// non-extractable key cannot be hashed, and a fixed id is stable across reloads by construction.
// To rotate away from `{ key: old }`, pass
// `{ keys: [{ id: "k1", key: new }, { id: "k0", key: old }] }`: old records carry kid "k0".
// Never give "k0" to another key: a known kid tries that key only.
/** @internal */
export const KEY_ID = "k0";
/** @internal */
export const PASSPHRASE_KEY_ID = "pw";
/** @internal */
export const DEVICE_KEY_ID = "idb";

const SALT_BYTES = 16;
const DB_STORE = "keys";
const ONE_OF = "encryption must be true, { key }, { keys } or { passphrase }";

/**
 * Turns the `encryption` option into keys for `encryptData` (the first) and `decryptData` (all).
 * Validates the option (`InvalidDataError` saying what was given), derives a passphrase key once
 * per call, and finds or creates the IndexedDB key. Failures of `context.salt` propagate as they
 * are; IndexedDB failing to open or write rejects with `BackendError`.
 * @internal
 */
export async function resolveKeys(
  option: EncryptionOptions,
  context: KeyContext,
): Promise<KeyRing> {
  if (option === true) return [{ id: DEVICE_KEY_ID, key: await deviceKey(context) }];
  if (typeof option !== "object" || option === null || Array.isArray(option)) {
    throw new InvalidDataError(`${ONE_OF}, got ${describe(option)}`);
  }
  const { allowPlaintext }: { allowPlaintext?: unknown } = option;
  if (allowPlaintext !== undefined && typeof allowPlaintext !== "boolean") {
    throw new InvalidDataError(
      `encryption.allowPlaintext must be a boolean, got ${describe(allowPlaintext)}`,
    );
  }
  const given = (["key", "keys", "passphrase"] as const).filter(
    (name) => option[name] !== undefined,
  );
  if (given.length !== 1) {
    const got = given.join(" and ") || "none of them";
    throw new InvalidDataError(`${ONE_OF} (exactly one), got ${got}`);
  }
  // Checked as what a caller without types may pass.
  const { key, keys, passphrase }: { key?: unknown; keys?: unknown; passphrase?: unknown } = option;
  if (key !== undefined) {
    checkKey(key, "encryption.key", true);
    return [{ id: KEY_ID, key }];
  }
  if (keys !== undefined) return checkKeys(keys);
  checkText(passphrase, "encryption.passphrase");
  return [{ id: PASSPHRASE_KEY_ID, key: await passphraseKey(passphrase, context.salt) }];
}

function checkKeys(keys: unknown): KeyRing {
  if (!Array.isArray(keys) || keys.length === 0) {
    const got = Array.isArray(keys) ? "an empty array" : describe(keys);
    throw new InvalidDataError(
      `encryption.keys must be a non-empty array of { id, key }, got ${got}`,
    );
  }
  const seen = new Set<string>();
  const check = (entry: unknown, index: number): EncryptionKey => {
    const label = `encryption.keys[${index}]`;
    if (typeof entry !== "object" || entry === null) {
      throw new InvalidDataError(`${label} must be { id, key }, got ${describe(entry)}`);
    }
    const { id, key }: { id?: unknown; key?: unknown } = entry;
    checkText(id, `${label}.id`);
    if (seen.has(id)) {
      throw new InvalidDataError(`${label}.id ${JSON.stringify(id)} is a duplicate`);
    }
    seen.add(id);
    // Only the first key encrypts; older ones may be kept for decryption alone.
    checkKey(key, `${label}.key`, index === 0);
    return { id, key };
  };
  const [first, ...rest] = keys;
  return [check(first, 0), ...rest.map((entry, index) => check(entry, index + 1))];
}

function checkText(value: unknown, label: string): asserts value is string {
  if (typeof value !== "string" || value === "") {
    const got = value === "" ? "an empty string" : describe(value);
    throw new InvalidDataError(`${label} must be a non-empty string, got ${got}`);
  }
}

function checkKey(key: unknown, label: string, encrypts: boolean): asserts key is CryptoKey {
  const isKey = isCryptoKey(key);
  const { name, length }: Partial<AesKeyAlgorithm> = isKey ? key.algorithm : {};
  if (!isKey || name !== "AES-GCM" || length !== 256) {
    const size = typeof length === "number" ? ` ${length}-bit` : "";
    throw new InvalidDataError(
      `${label} must be an AES-GCM 256-bit CryptoKey, got ${isKey ? name + size : describe(key)}`,
    );
  }
  const { usages } = key;
  if (!usages.includes("decrypt") || (encrypts && !usages.includes("encrypt"))) {
    const needed = encrypts ? "encrypt and decrypt" : "decrypt";
    throw new InvalidDataError(`${label} must allow ${needed}, got usages [${usages}]`);
  }
}

/** Not `instanceof CryptoKey`: a key from another realm (an iframe, a worker) would fail it. */
function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === "object" &&
    value !== null &&
    Symbol.toStringTag in value &&
    value[Symbol.toStringTag] === "CryptoKey"
  );
}

async function passphraseKey(passphrase: string, store: SaltStore): Promise<CryptoKey> {
  let salt = await store.load();
  if (salt === undefined) {
    const fresh = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    await store.save(fresh);
    // Two tabs may both have found no salt; save() keeps the first, so use whatever is stored.
    salt = (await store.load()) ?? fresh;
  }
  // Never replace a bad salt with a new one: the records under the old key would be lost.
  if (salt.length < SALT_BYTES || salt.length > 64) {
    throw new InvalidDataError(
      `the stored passphrase salt must be 16 to 64 bytes, got ${salt.length} bytes`,
    );
  }
  const bits = await pbkdf2Sha256(passphrase, new Uint8Array(salt), PASSPHRASE_ITERATIONS, 32);
  try {
    return await crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["encrypt", "decrypt"]);
  } finally {
    bits.fill(0); // The key now lives only inside the non-extractable CryptoKey.
  }
}

/** The namespace's key from IndexedDB, generated (non-extractable) and stored on first use. */
async function deviceKey({
  indexedDB = globalThis.indexedDB,
  namespace,
}: KeyContext): Promise<CryptoKey> {
  if (indexedDB === undefined) {
    throw new InvalidDataError(
      "encryption: true keeps its key in IndexedDB, which this runtime lacks; pass { key } or { passphrase }",
    );
  }
  let stored: unknown;
  try {
    const open = indexedDB.open("sessionmanager-keys", 1);
    open.onupgradeneeded = () => open.result.createObjectStore(DB_STORE);
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    // Let a future version upgrade the database rather than stay blocked by this connection.
    db.onversionchange = () => db.close();
    try {
      stored = await keep(db, namespace);
      if (stored === undefined) {
        const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
          "encrypt",
          "decrypt",
        ]);
        stored = await keep(db, namespace, fresh);
      }
    } finally {
      db.close();
    }
  } catch (cause) {
    throw new BackendError("IndexedDB failed to keep the encryption key", { cause });
  }
  // A foreign value is reported, never overwritten: records under the lost key could not be read.
  const label = `the key stored in IndexedDB for namespace ${JSON.stringify(namespace)}`;
  checkKey(stored, label, true);
  return stored;
}

/**
 * Resolves with the namespace's stored key, once the transaction has committed. Given `fresh`,
 * stores it first unless there is a key already, in the same readwrite transaction: transactions
 * on one store run one at a time, so two tabs starting at once agree on one key.
 */
function keep(db: IDBDatabase, namespace: string, fresh?: CryptoKey): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(DB_STORE, "readwrite");
    const store = transaction.objectStore(DB_STORE);
    const existing = store.get(namespace);
    let result: unknown;
    existing.onsuccess = () => {
      result = existing.result ?? fresh;
      if (fresh && result === fresh) store.add(fresh, namespace);
    };
    transaction.oncomplete = () => resolve(result);
    // Set whenever the browser aborts (only an abort() call, which this never makes, leaves it null).
    transaction.onabort = () => reject(transaction.error);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value !== "object") return typeof value;
  const name = value.constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}
