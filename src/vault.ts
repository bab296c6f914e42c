import { isThenable } from "./awaitable.ts";
import { isReservedId } from "./constants.ts";
import type { RecordCodec } from "./crypto/codec.ts";
import { ConflictError, DecryptionError, SessionError } from "./errors.ts";
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
  // The opened store, set by `attach` before any call reaches the vault.
  private store: SessionStore = detached;

  /** `report` hears about every record that could not be opened. */
  constructor(private readonly report: (error: unknown) => void) {}

  /** Uses `store` from now on. */
  attach(store: SessionStore): void {
    this.store = store;
  }

  /** Resolves the keys of `encryption`; rejects (with why) when they cannot be had. */
  async open(encryption: Encryption, namespace: string): Promise<void> {
    this.codec = await encryption.open(this.store, namespace);
  }

  /** The session with this id, opened; `undefined` if absent or unreadable (reported). */
  get(id: string): Awaitable<SessionRecord | undefined> {
    const stored = this.store.get(id);
    if (isThenable(stored)) return Promise.resolve(stored).then((raw) => this.read(raw));
    return this.read(stored);
  }

  /**
   * Writes `record` (sealed) on `condition`. A record this manager cannot open counts as absent:
   * a create replaces it, as it would a session that had expired.
   */
  set(record: SessionRecord, condition: WriteCondition): Awaitable<boolean> {
    const { codec } = this;
    if (!codec) return this.write(record, condition);
    return codec.seal(record).then((sealed) => this.write(sealed, condition));
  }

  delete(id: string, condition: { readonly ifVersion: number }): Awaitable<boolean> {
    return this.store.delete(id, condition);
  }

  /** Every session, opened: the library's own records left out, unreadable ones too (reported). */
  async list(): Promise<SessionRecord[]> {
    return this.readAll(await this.store.list());
  }

  /** Removes every session; the passphrase salt stays (other tabs still use it). */
  async clear(): Promise<void> {
    const restore = await this.codec?.preserve();
    await this.store.clear();
    await restore?.();
  }

  /** Deletes the expired records: how many, and the sessions among them, opened. */
  async purgeExpired(now: number): Promise<{ count: number; sessions: SessionRecord[] }> {
    const removed = await this.store.purgeExpired(now);
    return { count: removed.length, sessions: await this.readAll(removed) };
  }

  close(): Awaitable<void> {
    return this.store.close?.();
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

  /** A stored record as the manager may see it (a plain one as it is, at once). */
  private read(raw: SessionRecord | undefined): Awaitable<SessionRecord | undefined> {
    return raw && this.needs(raw) ? this.reveal(raw) : raw;
  }

  /** The record decrypted, or `undefined` when it cannot be (reported). */
  private async reveal(record: SessionRecord): Promise<SessionRecord | undefined> {
    try {
      if (!this.codec) throw new DecryptionError({ cause: new Error("no encryption option set") });
      return await this.codec.open(record);
    } catch (error) {
      this.report(error);
      return undefined;
    }
  }

  /** Stores a sealed record on `condition`; a create over an unreadable record replaces it. */
  private write(sealed: SessionRecord, condition: WriteCondition): Awaitable<boolean> {
    const done = this.store.set(sealed, condition);
    if ("ifVersion" in condition) return done;
    if (isThenable(done)) return Promise.resolve(done).then((ok) => ok || this.replace(sealed));
    return done || this.replace(sealed);
  }

  /** Writes `sealed` over the stored record of its id if this manager cannot open that one. */
  private async replace(sealed: SessionRecord): Promise<boolean> {
    const raw = await this.store.get(sealed.id);
    if (!raw || (await this.opens(raw))) return false;
    return this.store.set(sealed, { ifVersion: raw.version });
  }

  /** Whether this manager can open `record` (nothing is reported either way). */
  private async opens(record: SessionRecord): Promise<boolean> {
    if (!this.needs(record)) return true;
    try {
      if (!this.codec) return false;
      await this.codec.open(record);
      return true;
    } catch {
      return false;
    }
  }
}

const notOpen = (): never => {
  throw new SessionError("CLOSED", "the store is not open yet");
};
/** Stands for the store until the manager has opened it (every call waits for that). */
const detached: SessionStore = {
  name: "detached",
  get: notOpen,
  set: notOpen,
  delete: notOpen,
  list: notOpen,
  clear: notOpen,
  purgeExpired: notOpen,
};
