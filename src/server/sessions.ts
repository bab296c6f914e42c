import {
  ConflictError,
  InvalidTtlError,
  QuotaError,
  SessionExistsError,
  SessionNotFoundError,
} from "../errors.ts";
import type { ChangesBody, WireSession } from "../protocol.ts";
import { capped, record } from "../session.ts";
import { copyRecord } from "../stores/record.ts";
import { countLive } from "../stores/shared/count.ts";
import { partitionOf } from "../stores/shared/partition.ts";
import type {
  PageRequest,
  SessionPartition,
  SessionRecord,
  SessionStore,
  StoreChange,
} from "../stores/types.ts";
import { sameData } from "../sync/changes.ts";
import type { Awaitable } from "../types.ts";
import { conditionalWrite } from "../write.ts";
import { PreconditionFailedError } from "./errors.ts";
import type { Precondition, PutInput } from "./input.ts";

/** What a `PUT` wrote, and whether it created the session (rather than replaced one). */
export interface Written {
  readonly session: WireSession;
  readonly created: boolean;
}

/** One page of an owner's live sessions, and the partition's cursor of the next. */
export interface SessionsPage {
  readonly sessions: WireSession[];
  readonly next?: string;
}

/** Decides the next record from the live one (`undefined`: none); `null` deletes it. */
type Decide<D> = (current: SessionRecord | undefined, now: number) => Awaitable<D>;

/** Where `GET /v1/changes` starts: a change-log cursor, a clock cursor (legacy), or none. */
export type Since = string | number | undefined;

// Conditional writes that keep failing mean other writers change the same session non-stop.
const ATTEMPTS = 5;
// How many records a list reads from the store at a time.
const PAGE = 1000;
// Changes are reported from a little before the answer's clock: a write decided before it but
// landing in the store after the read (a slow store, another process) is then still reported
// next time. Duplicates are harmless: clients keep the higher version.
const CURSOR_LAG_MS = 5000;

/**
 * The sessions of every owner, kept in one store, each owner's in its partition
 * (`partitionOf`): a store's own, or its records under `encodeURIComponent(owner) + "/" + id`,
 * where no owner's key is a prefix of another's, one sweep purges every owner, and native TTL
 * works as for any record. Nothing is kept here between calls: many servers can share the store.
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
    const found = await this.partition(owner).get(id);
    if (!found || found.expiresAt <= Date.now()) throw new SessionNotFoundError(id);
    return toWire(found);
  }

  /**
   * Creates or replaces a session under the `If-None-Match` / `If-Match` condition. A create
   * (no live session has the id) is refused with `QuotaError` while the owner has `quota` live
   * sessions; a replace never is. Creates racing at the limit each count before any of them
   * writes, so the owner may end up over it by as many as raced (no store offers a per-owner
   * counter to make the count and the write one step); the next create is refused again.
   */
  async put(
    owner: string,
    id: string,
    input: PutInput,
    pre: Precondition,
    quota: number = Number.POSITIVE_INFINITY,
  ): Promise<Written> {
    let created = false;
    let change: StoreChange = "added";
    const written = await this.write(
      owner,
      id,
      () => change,
      async (current, now) => {
        check(id, current, pre);
        // Created meanwhile by a racing write: a create-only put is answered as it would be after
        // it; any other is decided again over that session once its write fails its condition.
        const createdMeanwhile = !current && (await this.checkQuota(owner, id, quota, now));
        if (createdMeanwhile && pre.ifNoneMatch) throw new SessionExistsError(id);
        created = current === undefined;
        const ttl = input.ttl ?? this.defaultTtl;
        const createdAt = current ? current.createdAt : (input.createdAt ?? now);
        // A replace keeps the stored cap, and may lower it but never lift it.
        const maxAge = lower(input.maxAge, current?.maxAge);
        const expiresAt = capped(input.expiresAt ?? now + ttl, { createdAt, maxAge });
        if (expiresAt <= now) {
          throw new InvalidTtlError(
            `maxAge of ${maxAge} ms from createdAt ${createdAt} has passed`,
          );
        }
        const version = current ? current.version + 1 : 1;
        const made = record(id, input.data, createdAt, now, expiresAt, ttl, version, maxAge);
        const same =
          current && sameData(current.data, made.data) && !!current.encrypted === !!input.encrypted;
        change = !current ? "added" : same ? "touched" : "updated";
        return input.encrypted ? Object.freeze({ ...made, encrypted: true as const }) : made;
      },
    );
    return { session: toWire(written), created };
  }

  /** Extends a live session: `expiresAt = now + (ttl ?? its ttl)`; its ttl is kept. */
  async touch(
    owner: string,
    id: string,
    ttl: number | undefined,
    pre: Precondition,
  ): Promise<WireSession> {
    const record = await this.write(owner, id, "touched", (current, now) => {
      const live = check(id, current, pre, true);
      // Never past the end of its whole lifetime (`createdAt + maxAge`).
      const expiresAt = capped(now + (ttl ?? live.ttl), live);
      return Object.freeze({ ...live, updatedAt: now, expiresAt, version: live.version + 1 });
    });
    return toWire(record);
  }

  /** Deletes a live session (`SessionNotFoundError` if there is none). */
  async remove(owner: string, id: string, pre: Precondition): Promise<void> {
    await this.write(owner, id, "removed", (current) => {
      check(id, current, pre, true);
      return null;
    });
  }

  /**
   * One page of the owner's live sessions: one page of the partition, less the expired records
   * not swept yet (so a page may hold fewer than `limit` and still have a `next`).
   */
  async list(owner: string, request: PageRequest): Promise<SessionsPage> {
    const now = Date.now();
    const { records, next } = await this.partition(owner).list(request);
    const sessions = records.filter((r) => r.expiresAt > now).map(toWire);
    return next === undefined ? { sessions } : { sessions, next };
  }

  /** Deletes every record of the owner; resolves to how many live sessions that ended. */
  async clear(owner: string): Promise<number> {
    const now = Date.now();
    const removed = await this.partition(owner).clear();
    return removed.filter((r) => r.expiresAt > now).length;
  }

  /**
   * What changed for the owner since `since` (see `ChangesBody`): from the partition's change log
   * for a log cursor, as the sessions' copies now (so a page never hands out an older copy than
   * one listed before it); by the clock, with every live id, for a clock cursor, none, or a
   * store without a log (the answer then carries the log's head as `log`, where there is one).
   */
  async changes(owner: string, since: Since, limit: number = PAGE): Promise<ChangesBody> {
    const partition = this.partition(owner);
    if (!partition.changes)
      return this.byClock(partition, typeof since === "number" ? since : undefined);
    if (typeof since !== "string") {
      // The head first: a write after it comes next time, from the log.
      const { next: log } = await partition.changes({ limit: 1 });
      return { ...(await this.byClock(partition, since)), log };
    }
    const page = await partition.changes({ cursor: since, limit });
    if (page.resync) return { cursor: page.next, changed: [], removed: [], resync: true };
    const ids = [...new Set(page.entries.map((entry) => entry.id))];
    const now = Date.now();
    const current = await Promise.all(ids.map((id) => partition.get(id)));
    const changed: WireSession[] = [];
    const removed: string[] = [];
    current.forEach((found, i) => {
      if (found && found.expiresAt > now) changed.push(toWire(found));
      else removed.push(ids[i] as string);
    });
    const body: ChangesBody = { cursor: page.next, changed, removed };
    if (page.more) body.more = true;
    return body;
  }

  /** The sessions changed at or after `since` by the clock, and the ids of every live one. */
  private async byClock(
    partition: SessionPartition,
    since: number | undefined,
  ): Promise<ChangesBody> {
    // Read the clock before the store: a write after this instant is reported next time.
    const now = Date.now();
    const live = (await this.owned(partition)).filter((r) => r.expiresAt > now);
    const changed = since === undefined ? live : live.filter((r) => r.updatedAt >= since);
    return {
      cursor: now - CURSOR_LAG_MS,
      changed: changed.map(toWire),
      live: live.map((r) => r.id),
    };
  }

  /**
   * Throws `QuotaError` when the owner has `quota` live sessions or more: counted in the owner's
   * partition only, stopping at the limit (`countLive`: one `count(*)` on SQLite and PostgreSQL,
   * one `ZCOUNT` on Redis, the owner's pages where a store cannot count), never other owners'.
   * Resolves to `true` when the owner is at the limit but `id` is live: a racing write created it
   * after it was read as absent, so this put is not a create after all (and not refused for the
   * quota). Below the limit such a put goes on: its write fails its condition and is decided
   * again over that session.
   */
  private async checkQuota(
    owner: string,
    id: string,
    quota: number,
    now: number,
  ): Promise<boolean> {
    if (quota === Number.POSITIVE_INFINITY) return false;
    const partition = this.partition(owner);
    if ((await countLive(partition, { now, upTo: quota })) < quota) return false;
    if (await this.isLive(partition, id, now)) return true;
    const most = `the owner has the most live sessions this server allows (${quota})`;
    throw new QuotaError(`${most}: remove one to create another`);
  }

  private async isLive(partition: SessionPartition, id: string, now: number): Promise<boolean> {
    const found = await partition.get(id);
    return !!found && found.expiresAt > now;
  }

  /** The owner's partition of the store. */
  partition(owner: string): SessionPartition {
    return partitionOf(this.store, owner);
  }

  /**
   * Writes what `decide` makes of the owner's live record of `id` (an expired one not swept yet
   * reads as absent, and is replaced at its version), on condition that nobody wrote in between.
   */
  private write<D extends SessionRecord | null>(
    owner: string,
    id: string,
    change: StoreChange | (() => StoreChange),
    decide: Decide<D>,
  ): Promise<D> {
    const partition = this.partition(owner);
    // What the change log records: decided with the record where it depends on what was there.
    const kind = () => (typeof change === "function" ? change() : change);
    return conditionalWrite({
      store: {
        set: (record, condition) => partition.set(record, condition, kind()),
        delete: (gone, condition) => partition.delete(gone, condition, kind()),
      },
      read: () => partition.get(id),
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

  /** The owner's records, expired ones included, read a page at a time. */
  private async owned(partition: SessionPartition): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await partition.list({ cursor, limit: PAGE });
      records.push(...page.records);
      cursor = page.next;
    } while (cursor !== undefined);
    return records;
  }
}

/** A stored record as the API sends it. */
export function toWire(record: SessionRecord): WireSession {
  return copyRecord(record, record.data);
}

/** The lower of two caps, either of which may be absent (no cap). */
function lower(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * Throws unless the write may go ahead: `SessionExistsError` for `If-None-Match: *` on a live
 * session, `PreconditionFailedError` for an `If-Match` it does not meet, and (with `mustExist`)
 * `SessionNotFoundError` when there is no live session.
 */
function check(
  id: string,
  current: SessionRecord | undefined,
  pre: Precondition,
  mustExist: true,
): SessionRecord;
function check(id: string, current: SessionRecord | undefined, pre: Precondition): void;
function check(
  id: string,
  current: SessionRecord | undefined,
  pre: Precondition,
  mustExist = false,
): SessionRecord | undefined {
  if (pre.ifNoneMatch && current) throw new SessionExistsError(id);
  const { ifMatch } = pre;
  if (ifMatch !== undefined && (!current || (ifMatch !== "*" && current.version !== ifMatch))) {
    throw new PreconditionFailedError(id, ifMatch, current && toWire(current));
  }
  if (mustExist && !current) throw new SessionNotFoundError(id);
  return current;
}
