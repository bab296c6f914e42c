import { settle } from "./awaitable.ts";
import { isReservedId } from "./constants.ts";
import type { RecordCodec } from "./crypto/codec.ts";
import { ConflictError, DecryptionError } from "./errors.ts";
import type { Encryption } from "./options.ts";
import type { SessionRecord, SessionStore } from "./stores/types.ts";
import type { Awaitable, Session, WriteCondition } from "./types.ts";

/**
 * The store as the manager sees it: encryption at rest on the way in and out. What goes to the
 * store is sealed and what comes back is opened, so the manager only ever holds plain records.
 * Without the `encryption` option it passes records through (plain answers stay plain: no promise,
 * no tick), except encrypted ones, which it refuses rather than hand out ciphertext as data. The
 * library's own records (`reservedId`) never come out of `list`. The crypto comes in with
 * `Encryption`.
 */
export class Vault {
  private codec: RecordCodec | undefined;
  // Set by `attach` before any call reaches the vault (every call waits for the manager's `ready`).
  // (`underlying` and `fail` are names only package objects have, which the build shortens.)
  private underlying!: SessionStore;

  /** `fail` hears about every record that could not be opened. */
  constructor(private readonly fail: (error: unknown) => void) {}

  /** Uses `store` from now on. */
  attach(store: SessionStore): void {
    this.underlying = store;
  }

  /** Resolves the keys of `encryption`; rejects (with why) when they cannot be had. */
  async open(encryption: Encryption, namespace: string): Promise<void> {
    this.codec = await encryption.open(this.underlying, namespace);
  }

  /** The session with this id, opened; `undefined` if absent or unreadable (reported). */
  get(id: string): Awaitable<SessionRecord | undefined> {
    return settle(this.underlying.get(id), (raw) =>
      raw && this.needs(raw) ? this.reveal(raw) : raw,
    );
  }

  /**
   * Writes `record` (sealed) on `condition`. A record this manager cannot open counts as absent:
   * a create replaces it, as it would a session that had expired.
   */
  set(record: SessionRecord, condition: WriteCondition): Awaitable<boolean> {
    const { codec, underlying: store } = this;
    return settle(codec ? codec.seal(record) : record, (sealed) =>
      settle(
        store.set(sealed, condition),
        (done) => done || ("ifAbsent" in condition && this.replace(sealed)),
      ),
    );
  }

  delete(id: string, condition: { readonly ifVersion: number }): Awaitable<boolean> {
    return this.underlying.delete(id, condition);
  }

  /** Every session, opened: the library's own records left out, unreadable ones too (reported). */
  async list(): Promise<SessionRecord[]> {
    return this.readAll(await this.underlying.list());
  }

  /** Removes every session; the passphrase salt stays (other tabs still use it). */
  async clear(): Promise<void> {
    const restore = await this.codec?.preserve();
    await this.underlying.clear();
    await restore?.();
  }

  /** Deletes the expired records: how many, and the sessions among them, opened. */
  async purgeExpired(now: number): Promise<{ count: number; sessions: SessionRecord[] }> {
    const removed = await this.underlying.purgeExpired(now);
    return { count: removed.length, sessions: await this.readAll(removed) };
  }

  close(): Awaitable<void> {
    return this.underlying.close?.();
  }

  /**
   * A sync conflict as listeners should see it: its two copies opened as reads are (a copy that
   * cannot be opened, plaintext under encryption too, is left out, and reported).
   */
  async openConflict(error: ConflictError): Promise<ConflictError> {
    const { id, local, server } = error;
    const sealed = (r?: Session<unknown>): r is SessionRecord => !!r && this.needs(r);
    if (id === undefined || !(sealed(local) || sealed(server))) return error;
    const open = (r?: Session<unknown>) => (sealed(r) ? this.reveal(r) : r);
    const [mine, theirs] = await Promise.all([open(local), open(server)]);
    return new ConflictError(error.message, { id, local: mine, server: theirs });
  }

  /** Stored records as sessions: the library's own records left out, the rest opened. */
  async readAll(records: SessionRecord[]): Promise<SessionRecord[]> {
    const sessions = records.filter((r) => !isReservedId(r.id));
    if (!sessions.some((r) => this.needs(r))) return sessions;
    const read = await Promise.all(sessions.map((r) => this.reveal(r)));
    return read.filter((r) => r !== undefined);
  }

  /** Whether `record` must be opened before anyone sees it. */
  private needs(record: SessionRecord): boolean {
    return this.codec !== undefined || record.encrypted === true;
  }

  /** The record decrypted, or `undefined` when it cannot be (reported unless `quiet`). */
  private async reveal(record: SessionRecord, quiet?: true): Promise<SessionRecord | undefined> {
    try {
      if (!this.codec) throw new DecryptionError({ cause: new Error("no encryption option set") });
      return await this.codec.open(record);
    } catch (error) {
      if (!quiet) this.fail(error);
      return undefined;
    }
  }

  /** Writes `sealed` over the stored record of its id if this manager cannot open that one. */
  private async replace(sealed: SessionRecord): Promise<boolean> {
    const raw = await this.underlying.get(sealed.id);
    if (!raw || !this.needs(raw) || (await this.reveal(raw, true))) return false;
    return this.underlying.set(sealed, { ifVersion: raw.version });
  }
}
