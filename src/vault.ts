import { isReservedId } from "./constants.ts";
import type { RecordCodec } from "./crypto/codec.ts";
import { ConflictError, DecryptionError } from "./errors.ts";
import type { Encryption } from "./options.ts";
import type { SessionRecord, SessionStore } from "./stores/types.ts";
import type { Session } from "./types.ts";

/**
 * Encryption at rest as the manager sees it: what goes to the store is sealed, what comes back is
 * opened. Without the `encryption` option it passes records through, except encrypted ones, which
 * it refuses rather than hand out ciphertext as data. The crypto comes in with `Encryption`.
 */
export class Vault {
  private codec: RecordCodec | undefined;

  /** `report` hears about every record that could not be opened. */
  constructor(private readonly report: (error: unknown) => void) {}

  /** Resolves the keys of `encryption`; rejects (with why) when they cannot be had. */
  async open(encryption: Encryption, store: SessionStore, namespace: string): Promise<void> {
    this.codec = await encryption.open(store, namespace);
  }

  /** Whether `record` must go through `reveal` before anyone sees it. */
  needs(record: SessionRecord): boolean {
    return this.codec !== undefined || record.encrypted === true;
  }

  /** The record to store: sealed when encryption is on, else itself (no promise, no tick). */
  seal(record: SessionRecord): SessionRecord | Promise<SessionRecord> {
    return this.codec ? this.codec.seal(record) : record;
  }

  /** The record decrypted, or `undefined` when it cannot be (reported). */
  async reveal(record: SessionRecord): Promise<SessionRecord | undefined> {
    try {
      if (!this.codec) throw new DecryptionError({ cause: new Error("no encryption option set") });
      return await this.codec.open(record);
    } catch (error) {
      this.report(error);
      return undefined;
    }
  }

  /**
   * A sync conflict as listeners should see it: its two copies opened where they are sealed (a
   * copy that cannot be opened is left out, and reported).
   */
  async openConflict(error: ConflictError): Promise<ConflictError> {
    const { id, local, server } = error;
    const sealed = (r?: Session<unknown>): r is SessionRecord =>
      (r as SessionRecord)?.encrypted === true;
    if (id === undefined || !(sealed(local) || sealed(server))) return error;
    const open = (r?: Session<unknown>) => (sealed(r) ? this.reveal(r) : r);
    const [mine, theirs] = await Promise.all([open(local), open(server)]);
    return new ConflictError(error.message, { id, local: mine, server: theirs });
  }

  /** Stored records as sessions: the manager's own records left out, the rest decrypted. */
  async readAll(records: SessionRecord[]): Promise<SessionRecord[]> {
    const sessions = records.filter((r) => !isReservedId(r.id));
    if (!sessions.some((r) => this.needs(r))) return sessions;
    const read = await Promise.all(sessions.map((r) => this.reveal(r)));
    return read.filter((r) => r !== undefined);
  }

  /** Before a store is cleared: returns what puts the passphrase salt back after it. */
  async preserve(): Promise<(() => Promise<void>) | undefined> {
    return this.codec?.preserve();
  }
}
