// A change log kept in this process, for the stores that keep none of their own (memory, file,
// SQLite, a store of the user's): what the server's change feed and event streams read on a
// single-process backend.
import { settle } from "../../awaitable.ts";
import type {
  Awaitable,
  ChangeEntry,
  ChangeLogOptions,
  ChangePage,
  ChangesRequest,
  SessionPartition,
  SessionRecord,
  SessionStore,
  StoreChange,
  WriteCondition,
} from "../types.ts";
import { Fanout } from "./fanout.ts";
import { partitionPrefix, prefixPartition } from "./partition.ts";

/** Entries kept per owner, and for how long (ms), unless the options say otherwise. */
export const LOG_DEFAULTS = { maxEntries: 1000, maxAge: 3_600_000 } as const;
// Digits of a cursor's sequence number: fixed, so that later cursors sort after earlier ones.
const DIGITS = 15;

interface OwnerLog {
  entries: ChangeEntry[];
  /** The sequence number of the newest entry dropped (a reader at or after it lost nothing). */
  dropped: number;
}

/** Options of `withChangeLog`. */
export interface ProcessLogOptions extends ChangeLogOptions {
  /**
   * Give partitions `changes` (read by `GET /v1/changes`), not only `watch`. Only where this
   * process is the store's one writer (memory): another process's writes to a shared file or
   * database would be missing from the log, and the clients reading it would miss them too.
   */
  readonly feed?: boolean;
}

/**
 * `store` with partitions (its own, or `prefixPartition`'s) whose writes are logged in this
 * process's memory: each owner's `watch` (and with `feed`, `changes`) works for what this
 * process writes, and the root's sweep logs `expired`. Another process writing to the same file
 * or database goes unlogged here, and a restart starts a new log (older cursors `resync`): a
 * single-process backend. A store whose partitions keep a log of their own is returned as is.
 */
export function withChangeLog(store: SessionStore, options: ProcessLogOptions = {}): SessionStore {
  if (store.partition?.("").changes) return store;
  const log = new MemoryLog(options);
  const { feed = false } = options;
  const partitionOf = (owner: string) =>
    store.partition ? store.partition(owner) : prefixPartition(store, owner);
  return {
    ...store,
    partition: (owner) => loggedPartition(partitionOf(owner), log, feed),
    purgeExpired: (now) =>
      settle(store.purgeExpired(now), (swept) => {
        for (const record of swept) {
          const slash = record.id.indexOf("/");
          const owner = slash > 0 ? decode(record.id.slice(0, slash)) : undefined;
          if (owner !== undefined && record.id.startsWith(partitionPrefix(owner))) {
            log.append(owner, "expired", record.id.slice(slash + 1));
          }
        }
        log.forgetIdle(now);
        return swept;
      }),
  };
}

/** `inner` with each write it makes appended to `log`. */
function loggedPartition(inner: SessionPartition, log: MemoryLog, feed: boolean): SessionPartition {
  const { owner } = inner;
  const kindOf = async (record: SessionRecord, condition: WriteCondition | undefined) => {
    if (condition) return "ifAbsent" in condition ? "added" : "updated";
    return (await inner.get(record.id)) ? "updated" : "added";
  };
  return {
    ...inner,
    async set(record, condition, change) {
      const kind = change ?? (await kindOf(record, condition));
      const written = await inner.set(record, condition);
      if (written) log.append(owner, kind, record.id, record);
      return written;
    },
    async delete(id, condition, change = "removed") {
      const deleted = await inner.delete(id, condition);
      if (deleted) log.append(owner, change, id);
      return deleted;
    },
    async clear() {
      const removed = await inner.clear();
      for (const record of removed) log.append(owner, "removed", record.id);
      return removed;
    },
    ...(feed && { changes: (request: ChangesRequest) => log.changes(owner, request) }),
    watch: (listener) => log.fanout.watch(owner, listener),
  };
}

/** Every owner's log, in this process. */
class MemoryLog {
  readonly fanout: Fanout = new Fanout();
  // Cursors of another log (of this process before a restart, say) never match this one's.
  private readonly epoch = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
  private readonly owners = new Map<string, OwnerLog>();
  private readonly maxEntries: number;
  private readonly maxAge: number;
  private seq = 0;
  /** Entries up to this sequence number were dropped with an owner's whole log. */
  private forgotten = 0;

  constructor(options: ChangeLogOptions) {
    this.maxEntries = options.maxEntries ?? LOG_DEFAULTS.maxEntries;
    this.maxAge = options.maxAge ?? LOG_DEFAULTS.maxAge;
  }

  append(owner: string, change: StoreChange, id: string, record?: SessionRecord): void {
    const at = Date.now();
    const cursor = this.cursor(++this.seq);
    const entry: ChangeEntry = Object.freeze(
      record ? { cursor, change, id, record, at } : { cursor, change, id, at },
    );
    let log = this.owners.get(owner);
    if (!log) {
      log = { entries: [], dropped: this.forgotten };
      this.owners.set(owner, log);
    }
    log.entries.push(entry);
    this.trim(log, at);
    this.fanout.emit(owner, entry);
  }

  changes(owner: string, { cursor, limit }: ChangesRequest): Awaitable<ChangePage> {
    const head = this.cursor(this.seq);
    if (cursor === undefined) return { entries: [], next: head };
    const after = this.seqOf(cursor);
    const log = this.owners.get(owner);
    if (log) this.trim(log, Date.now());
    const dropped = log ? log.dropped : this.forgotten;
    if (after === undefined || after > this.seq || after < dropped) {
      return { entries: [], next: head, resync: true };
    }
    const newer = (log?.entries ?? []).filter((e) => (this.seqOf(e.cursor) as number) > after);
    const entries = newer.slice(0, limit);
    const next = entries.at(-1)?.cursor ?? cursor;
    return newer.length > limit ? { entries, next, more: true } : { entries, next };
  }

  /** Drops the logs whose entries have all aged out (nobody can resume in them any more). */
  forgetIdle(now: number): void {
    for (const [owner, log] of this.owners) {
      this.trim(log, now);
      if (log.entries.length === 0 && !this.fanout.has(owner)) {
        this.forgotten = Math.max(this.forgotten, log.dropped);
        this.owners.delete(owner);
      }
    }
  }

  /** Drops the entries past the log's bounds, oldest first. */
  private trim(log: OwnerLog, now: number): void {
    const { entries } = log;
    let drop = Math.max(0, entries.length - this.maxEntries);
    while (drop < entries.length && (entries[drop] as ChangeEntry).at <= now - this.maxAge) drop++;
    if (drop === 0) return;
    log.dropped = this.seqOf((entries[drop - 1] as ChangeEntry).cursor) as number;
    entries.splice(0, drop);
  }

  private cursor(seq: number): string {
    return `${this.epoch}.${String(seq).padStart(DIGITS, "0")}`;
  }

  /** The sequence number of one of this log's cursors; `undefined` for any other string. */
  private seqOf(cursor: string): number | undefined {
    const [epoch, digits] = cursor.split(".");
    if (epoch !== this.epoch || digits?.length !== DIGITS || !/^\d+$/.test(digits)) {
      return undefined;
    }
    return Number(digits);
  }
}

/** `decodeURIComponent`, or `undefined` for a string no owner's prefix encodes to. */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
