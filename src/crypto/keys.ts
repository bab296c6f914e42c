import { BackendError, InvalidDataError } from "../errors.ts";
import type { EncryptionKey } from "./jwe.ts";
import { pbkdf2Sha256 } from "./password.ts";

/**
 * The manager's `encryption` option: one AES-GCM 256 key; several for rotation (the first
 * encrypts, any decrypts); a passphrase; or `true` for a key generated once per namespace and
 * kept, non-extractable, in IndexedDB (browsers only).
 * @example
 * const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
 * new SessionManager({ backend: "indexedDB", encryption: { key } })
 */
export type EncryptionOptions =
  | true
  | { readonly key: CryptoKey; readonly keys?: never; readonly passphrase?: never }
  | { readonly keys: readonly EncryptionKey[]; readonly key?: never; readonly passphrase?: never }
  | { readonly passphrase: string; readonly key?: never; readonly keys?: never };

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
const KEY_BYTES = 32;
const DB_NAME = "sessionmanager-keys";
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
): Promise<EncryptionKey[]> {
  if (option === true) return [{ id: DEVICE_KEY_ID, key: await deviceKey(context) }];
  if (typeof option !== "object" || option === null || Array.isArray(option)) {
    throw new InvalidDataError(`${ONE_OF}, got ${describe(option)}`);
  }
  const given = (["key", "keys", "passphrase"] as const).filter(
    (name) => option[name] !== undefined,
  );
  if (given.length !== 1) {
    const got = given.length === 0 ? "none of them" : given.join(" and ");
    throw new InvalidDataError(`${ONE_OF} (exactly one), got ${got}`);
  }
  if (option.key !== undefined) {
    checkKey(option.key, "encryption.key", true);
    return [{ id: KEY_ID, key: option.key }];
  }
  if (option.keys !== undefined) return checkKeys(option.keys);
  const { passphrase } = option as { passphrase: unknown };
  if (typeof passphrase !== "string" || passphrase === "") {
    const got = passphrase === "" ? "an empty string" : describe(passphrase);
    throw new InvalidDataError(`encryption.passphrase must be a non-empty string, got ${got}`);
  }
  return [{ id: PASSPHRASE_KEY_ID, key: await passphraseKey(passphrase, context.salt) }];
}

function checkKeys(keys: unknown): EncryptionKey[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    const got = Array.isArray(keys) ? "an empty array" : describe(keys);
    throw new InvalidDataError(
      `encryption.keys must be a non-empty array of { id, key }, got ${got}`,
    );
  }
  const seen = new Set<string>();
  return keys.map((entry: unknown, index) => {
    const label = `encryption.keys[${index}]`;
    if (typeof entry !== "object" || entry === null) {
      throw new InvalidDataError(`${label} must be { id, key }, got ${describe(entry)}`);
    }
    const { id, key } = entry as { id?: unknown; key?: unknown };
    if (typeof id !== "string" || id === "") {
      const got = id === "" ? "an empty string" : describe(id);
      throw new InvalidDataError(`${label}.id must be a non-empty string, got ${got}`);
    }
    if (seen.has(id))
      throw new InvalidDataError(`${label}.id ${JSON.stringify(id)} is a duplicate`);
    seen.add(id);
    // Only the first key encrypts; older ones may be kept for decryption alone.
    checkKey(key, `${label}.key`, index === 0);
    return { id, key };
  });
}

function checkKey(key: unknown, label: string, encrypts: boolean): asserts key is CryptoKey {
  // Not `instanceof CryptoKey`: a key from another realm (an iframe, a worker) would fail it.
  if (Object.prototype.toString.call(key) !== "[object CryptoKey]") {
    throw new InvalidDataError(
      `${label} must be an AES-GCM 256-bit CryptoKey, got ${describe(key)}`,
    );
  }
  const { algorithm, usages } = key as CryptoKey;
  const { name, length } = algorithm as { name: string; length?: unknown };
  if (name !== "AES-GCM" || length !== 256) {
    const size = typeof length === "number" ? ` ${length}-bit` : "";
    throw new InvalidDataError(`${label} must be an AES-GCM 256-bit CryptoKey, got ${name}${size}`);
  }
  const needed: KeyUsage[] = encrypts ? ["encrypt", "decrypt"] : ["decrypt"];
  if (!needed.every((usage) => usages.includes(usage))) {
    throw new InvalidDataError(
      `${label} must allow ${needed.join(" and ")}, got usages [${usages.join(", ")}]`,
    );
  }
}

async function passphraseKey(passphrase: string, store: SaltStore): Promise<CryptoKey> {
  const salt = await loadSalt(store);
  const bits = await pbkdf2Sha256(passphrase, salt, PASSPHRASE_ITERATIONS, KEY_BYTES);
  try {
    return await crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["encrypt", "decrypt"]);
  } finally {
    bits.fill(0); // The key now lives only inside the non-extractable CryptoKey.
  }
}

async function loadSalt(store: SaltStore): Promise<Uint8Array<ArrayBuffer>> {
  let salt = await store.load();
  if (salt === undefined) {
    const fresh = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    await store.save(fresh);
    // Two tabs may both have found no salt; save() keeps the first, so use whatever is stored.
    salt = (await store.load()) ?? fresh;
  }
  // Never replace a bad salt with a new one: the records under the old key would be lost.
  if (!(salt instanceof Uint8Array) || salt.length < SALT_BYTES || salt.length > 64) {
    const got = salt instanceof Uint8Array ? `${salt.length} bytes` : describe(salt);
    throw new InvalidDataError(`the stored passphrase salt must be 16 to 64 bytes, got ${got}`);
  }
  return new Uint8Array(salt);
}

/** The namespace's key from IndexedDB, generated (non-extractable) and stored on first use. */
async function deviceKey(context: KeyContext): Promise<CryptoKey> {
  const factory = context.indexedDB ?? globalThis.indexedDB;
  if (factory === undefined) {
    throw new InvalidDataError(
      "encryption: true keeps its key in IndexedDB, which this runtime lacks; pass { key } or { passphrase }",
    );
  }
  const label = `the key stored in IndexedDB for namespace ${JSON.stringify(context.namespace)}`;
  let stored: unknown;
  try {
    const db = await openDatabase(factory);
    try {
      stored = await request(db.transaction(DB_STORE).objectStore(DB_STORE).get(context.namespace));
      if (stored === undefined) {
        const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
          "encrypt",
          "decrypt",
        ]);
        stored = await addIfAbsent(db, context.namespace, fresh);
      }
    } finally {
      db.close();
    }
  } catch (cause) {
    throw new BackendError("IndexedDB failed to keep the encryption key", { cause });
  }
  // A foreign value is reported, never overwritten: records under the lost key could not be read.
  checkKey(stored, label, true);
  return stored;
}

function openDatabase(factory: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = factory.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(DB_STORE);
    open.onsuccess = () => {
      // Let a future version upgrade the database rather than stay blocked by this connection.
      open.result.onversionchange = () => open.result.close();
      resolve(open.result);
    };
    open.onerror = () => reject(open.error);
  });
}

/**
 * Stores `fresh` unless the namespace already has a key, in one readwrite transaction:
 * transactions on one store run one at a time, so two tabs starting at once agree on one key.
 * Resolves with the key that is stored, once the transaction has committed.
 */
function addIfAbsent(db: IDBDatabase, namespace: string, fresh: CryptoKey): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(DB_STORE, "readwrite");
    const store = transaction.objectStore(DB_STORE);
    let result: unknown = fresh;
    const existing = store.get(namespace);
    existing.onsuccess = () => {
      if (existing.result === undefined) store.add(fresh, namespace);
      else result = existing.result;
    };
    transaction.oncomplete = () => resolve(result);
    transaction.onabort = () => reject(transaction.error ?? new Error("transaction aborted"));
  });
}

function request<T>(pending: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    pending.onsuccess = () => resolve(pending.result);
    pending.onerror = () => reject(pending.error);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value !== "object") return typeof value;
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}
