import { ConflictError, SessionExistsError, SessionNotFoundError } from "../errors.ts";
import type { ChangesBody, WireSession } from "../protocol.ts";
import { record } from "../session.ts";
import type { SessionRecord, SessionStore } from "../stores/types.ts";
import { conditionalWrite } from "../write.ts";
import { PreconditionFailedError } from "./errors.ts";
import type { Precondition, PutInput } from "./input.ts";

/** What a `PUT` wrote, and whether it created the session (rather than replaced one). */
export interface Written {
  readonly session: WireSession;
  readonly created: boolean;
}

/** Decides the next record from the live one (`undefined`: none); `null` deletes it. */
type Decide<D> = (current: SessionRecord | undefined, now: number) => D;

// Conditional writes that keep failing mean other writers change the same session non-stop.
const ATTEMPTS = 5;
// Deletes of one clear that run at once.
const CLEAR_BATCH = 8;
// Changes are reported from a little before the answer's clock: a write decided before it but
// landing in the store after the read (a slow store, another process) is then still reported
// next time. Duplicates are harmless: clients keep the higher version.
const CURSOR_LAG_MS = 5000;

/**
 * The sessions of every owner, kept in one store. An owner's session `id` is stored under
 * `encodeURIComponent(owner) + "/" + id`: an encoded owner has no "/", so no owner's key is a
 * prefix of another's, one sweep purges every owner, and native TTL works as for any record.
 * Nothing is kept here between calls: many servers can share the store.
 */
export class OwnerSessions {
  private readonly store: SessionStore;
  private readonly defaultTtl: number;

  constructor(store: SessionStore, defaultTtl: number) {
    this.store = store;
    this.defaultTtl = defaultTtl;
  }

  /** The owner's live session with this id, or `SessionNotFoundError`. */
  async get(owner: string, id: string): Promise<WireSession> {
    const prefix = prefixOf(owner);
    const found = await this.store.get(prefix + id);
    if (!found || found.expiresAt <= Date.now()) throw new SessionNotFoundError(id);
    return toWire(found, prefix);
  }

  /** Creates or replaces a session under the `If-None-Match` / `If-Match` condition. */
  async put(owner: string, id: string, input: PutInput, pre: Precondition): Promise<Written> {
    const prefix = prefixOf(owner);
    let created = false;
    const written = await this.write(prefix, id, (current, now) => {
      check(prefix, id, current, pre);
      created = current === undefined;
      const ttl = input.ttl ?? this.defaultTtl;
      const expiresAt = input.expiresAt ?? now + ttl;
      const createdAt = current ? current.createdAt : now;
      const version = current ? current.version + 1 : 1;
      const made = record(prefix + id, input.data, createdAt, now, expiresAt, ttl, version);
      return input.encrypted ? Object.freeze({ ...made, encrypted: true as const }) : made;
    });
    return { session: toWire(written, prefix), created };
  }

  /** Extends a live session: `expiresAt = now + (ttl ?? its ttl)`; its ttl is kept. */
  async touch(
    owner: string,
    id: string,
    ttl: number | undefined,
    pre: Precondition,
  ): Promise<WireSession> {
    const prefix = prefixOf(owner);
    const record = await this.write(prefix, id, (current, now) => {
      const live = check(prefix, id, current, pre, true);
      const expiresAt = now + (ttl ?? live.ttl);
      return Object.freeze({ ...live, updatedAt: now, expiresAt, version: live.version + 1 });
    });
    return toWire(record, prefix);
  }

  /** Deletes a live session (`SessionNotFoundError` if there is none). */
  async remove(owner: string, id: string, pre: Precondition): Promise<void> {
    const prefix = prefixOf(owner);
    await this.write(prefix, id, (current) => {
      check(prefix, id, current, pre, true);
      return null;
    });
  }

  /** The owner's live sessions. */
  async list(owner: string): Promise<WireSession[]> {
    const prefix = prefixOf(owner);
    const now = Date.now();
    const records = await this.owned(prefix);
    return records.filter((r) => r.expiresAt > now).map((r) => toWire(r, prefix));
  }

  /** Deletes every record of the owner; resolves to how many live sessions that ended. */
  async clear(owner: string): Promise<number> {
    const now = Date.now();
    const records = await this.owned(prefixOf(owner));
    // A few at a time: stores that keep an index per namespace (Memcached) update it with
    // compare-and-swap, and a thousand deletes at once would only fight over it.
    let ended = 0;
    for (let i = 0; i < records.length; i += CLEAR_BATCH) {
      const batch = records.slice(i, i + CLEAR_BATCH);
      for (const done of await Promise.all(batch.map((r) => this.removeAny(r, now)))) {
        if (done) ended++;
      }
    }
    return ended;
  }

  /** The owner's sessions changed since `since`, the ids of all live ones, and the next cursor. */
  async changes(owner: string, since: number | undefined): Promise<ChangesBody> {
    const prefix = prefixOf(owner);
    // Read the clock before the store: a write after this instant is reported next time.
    const now = Date.now();
    const live = (await this.owned(prefix)).filter((r) => r.expiresAt > now);
    const changed = since === undefined ? live : live.filter((r) => r.updatedAt >= since);
    return {
      cursor: now - CURSOR_LAG_MS,
      changed: changed.map((r) => toWire(r, prefix)),
      live: live.map((r) => r.id.slice(prefix.length)),
    };
  }

  /**
   * Writes what `decide` makes of the owner's live record of `id` (an expired one not swept yet
   * reads as absent, and is replaced at its version), on condition that nobody wrote in between.
   */
  private write<D extends SessionRecord | null>(
    prefix: string,
    id: string,
    decide: Decide<D>,
  ): Promise<D> {
    const key = prefix + id;
    return conditionalWrite({
      store: this.store,
      read: () => this.store.get(key),
      decide: (stored) => {
        const now = Date.now();
        return decide(stored && stored.expiresAt > now ? stored : undefined, now);
      },
      attempts: ATTEMPTS,
      conflict: () =>
        new ConflictError(
          `the write to session ${JSON.stringify(id)} kept losing to other writers`,
        ),
    });
  }

  /** Deletes `record` whatever its version now; `true` if a live session ended. */
  private async removeAny(record: SessionRecord, now: number): Promise<boolean> {
    let current: SessionRecord | undefined = record;
    for (let attempt = 0; current && attempt < ATTEMPTS; attempt++) {
      if (await this.store.delete(current.id, { ifVersion: current.version })) {
        return current.expiresAt > now;
      }
      current = await this.store.get(record.id);
    }
    if (current) throw new ConflictError("clear kept losing to other writers");
    return false;
  }

  /** The owner's records, expired ones included, from an index when the store has one. */
  private async owned(prefix: string): Promise<SessionRecord[]> {
    const records = this.store.listPrefix
      ? await this.store.listPrefix(prefix)
      : await this.store.list();
    // Filtered either way: a store whose prefix match is looser (an unescaped LIKE or glob
    // pattern) must not hand one owner another's sessions.
    return records.filter((r) => r.id.startsWith(prefix));
  }
}

/** The key prefix of an owner's sessions. */
export function prefixOf(owner: string): string {
  return `${encodeURIComponent(owner)}/`;
}

/** A stored record as the API sends it: without the owner's prefix. */
export function toWire(record: SessionRecord, prefix: string): WireSession {
  const { id, data, createdAt, updatedAt, expiresAt, ttl, version, encrypted } = record;
  const session = {
    id: id.slice(prefix.length),
    data,
    createdAt,
    updatedAt,
    expiresAt,
    ttl,
    version,
  };
  return encrypted ? { ...session, encrypted } : session;
}

/**
 * Throws unless the write may go ahead: `SessionExistsError` for `If-None-Match: *` on a live
 * session, `PreconditionFailedError` for an `If-Match` it does not meet, and (with `mustExist`)
 * `SessionNotFoundError` when there is no live session.
 */
function check(
  prefix: string,
  id: string,
  current: SessionRecord | undefined,
  pre: Precondition,
  mustExist: true,
): SessionRecord;
function check(
  prefix: string,
  id: string,
  current: SessionRecord | undefined,
  pre: Precondition,
): void;
function check(
  prefix: string,
  id: string,
  current: SessionRecord | undefined,
  pre: Precondition,
  mustExist = false,
): SessionRecord | undefined {
  if (pre.ifNoneMatch && current) throw new SessionExistsError(id);
  const { ifMatch } = pre;
  if (ifMatch !== undefined && (!current || (ifMatch !== "*" && current.version !== ifMatch))) {
    throw new PreconditionFailedError(id, ifMatch, current && toWire(current, prefix));
  }
  if (mustExist && !current) throw new SessionNotFoundError(id);
  return current;
}
