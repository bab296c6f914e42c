// Encryption at rest as the manager uses it: a record's data sealed into a compact JWE before it
// reaches the store, opened again when it comes back. Loaded with import() only when the
// `encryption` option is set, so a manager without it carries none of this.
import { MAX_DATE_MS, reservedId } from "../constants.ts";
import { DecryptionError } from "../errors.ts";
import { deepFreeze } from "../stores/record.ts";
import type { SessionRecord, SessionStore } from "../stores/types.ts";
import { decryptData, encryptData, fromBase64Url, toBase64Url } from "./jwe.ts";
import { type EncryptionOptions, resolveKeys, type SaltStore } from "./keys.ts";

/** Seals and opens the data of records. @internal */
export interface RecordCodec {
  seal(record: SessionRecord): Promise<SessionRecord>;
  open(record: SessionRecord): Promise<SessionRecord>;
  /** Before `clear`: returns what puts the passphrase salt back after it. */
  preserve(): Promise<() => Promise<void>>;
}

/**
 * The id under which the passphrase salt is kept in the store: longer than any session id may
 * be (256 characters), so it can never collide with one; `isReservedId` keeps it out of lists.
 */
const SALT_ID = reservedId("passphrase-salt");

/** Resolves the keys of `option` and returns the codec that uses them. @internal */
export async function createCodec(
  option: EncryptionOptions,
  store: SessionStore,
  namespace: string,
): Promise<RecordCodec> {
  // The passphrase salt is kept beside the records, as a record that never expires.
  const salt: SaltStore = {
    async load() {
      const record = await store.get(SALT_ID);
      return typeof record?.data === "string" ? fromBase64Url(record.data) : undefined;
    },
    async save(bytes) {
      const record = Object.freeze({
        id: SALT_ID,
        data: toBase64Url(bytes),
        createdAt: 0,
        updatedAt: 0,
        expiresAt: MAX_DATE_MS,
        ttl: MAX_DATE_MS,
        version: 1,
      });
      // Create only: a salt another tab saved first wins, and resolveKeys loads it again.
      await store.set(record, { ifAbsent: true });
    },
  };
  const keys = await resolveKeys(option, { namespace, salt });
  // Validated by resolveKeys; `true` has no place for it and never reads plaintext.
  const allowPlaintext = option !== true && option.allowPlaintext === true;
  return {
    async seal(record) {
      const data = await encryptData(record.data, record.id, keys[0]);
      return Object.freeze({ ...record, data, encrypted: true });
    },
    async open(record) {
      if (!record.encrypted) {
        // Written before encryption was turned on, or planted by whoever can write the store:
        // the two look the same, so only an option that says so reads it.
        if (allowPlaintext) return record;
        throw new DecryptionError({ cause: new Error("the record is not encrypted") });
      }
      // Data that is not a string fails to decrypt like any other that is not a JWE.
      const data = deepFreeze(await decryptData(record.data, record.id, keys));
      const { encrypted: _, ...plain } = record;
      return Object.freeze({ ...plain, data });
    },
    async preserve() {
      const salt = await store.get(SALT_ID);
      return async () => {
        if (salt) await store.set(salt, { ifAbsent: true });
      };
    },
  };
}
