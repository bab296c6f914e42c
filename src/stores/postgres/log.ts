// The PostgreSQL store's partitions: an owner's records under the prefix partition's ids, and
// its change log in the same database, written by the same statement as the record.
import { randomBytes } from "node:crypto";
import { BackendError } from "../../errors.ts";
import { shortId } from "../../log.ts";
import { decodeRecord, encodeRecord, RECORD_FORMAT } from "../record.ts";
import { LOG_DEFAULTS } from "../shared/log.ts";
import { partitionPrefix, prefixPartition } from "../shared/partition.ts";
import { prefixEnd } from "../shared/range.ts";
import type {
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
import type { Watcher } from "./listen.ts";
import { cursorOf, type LogStatements, positionOf } from "./log-sql.ts";
import { type Row, toRow } from "./sql.ts";

/** What a query answers. */
interface Result {
  rows: readonly unknown[];
  rowCount: number | null;
}

/** What the log needs of its store. */
export interface LogContext {
  readonly namespace: string;
  /** Settles once the store is connected (and so `open` has read the epoch). */
  connected(): Promise<unknown>;
  /** Runs one of the log's statements. */
  query(statement: keyof LogStatements, values: unknown[]): Promise<Result>;
  /** The records of rows (those that cannot be read are reported and skipped). */
  read(rows: Row[]): SessionRecord[];
  /** What `read` returns, or `undefined` (reported) when it throws. */
  skip<T>(read: () => T): T | undefined;
  readonly watcher: Watcher;
  /** Names the log in the messages of records it cannot read. */
  readonly where: string;
}

type EntryRow = {
  floor: string;
  head: string;
  seq: string | null;
  id: string;
  change: StoreChange;
  record: string | null;
  at: number;
};

/** Owners swept (and locked) per statement of `purgeOwners`: a lock takes a lock table slot. */
const SWEEP_OWNERS = 100;
/** Owners whose appends `appended` counts at most (then it starts again). */
const COUNTED_OWNERS = 10_000;

/**
 * The change logs of one store's namespace: the partitions that write them, their reads, their
 * bounds (count: every `step` appends of an owner by this process, its oldest entries past
 * `maxEntries` are dropped; age: each append drops its owner's oldest entries past `maxAge`,
 * the sweep every owner's), and the epoch that tells this log's cursors from any other's. A
 * cursor before an entry dropped answers `resync`: each owner's floor (the newest position
 * dropped) is kept beside the log.
 */
export class ChangeLog {
  private epoch = "";
  /** The bounds, as given (checked by `open`). */
  readonly maxEntries: number;
  readonly maxAge: number;
  private readonly step: number;
  private readonly appends = new Map<string, number>();

  constructor(
    private readonly context: LogContext,
    options: ChangeLogOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? LOG_DEFAULTS.maxEntries;
    this.maxAge = options.maxAge ?? LOG_DEFAULTS.maxAge;
    this.step = Math.max(1, Math.ceil(this.maxEntries / 10));
  }

  /** `BackendError` unless the bounds are whole numbers from 1 (they are written into SQL). */
  check(): void {
    for (const [name, value] of Object.entries({
      maxEntries: this.maxEntries,
      maxAge: this.maxAge,
    })) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new BackendError(`changeLog.${name} must be a whole number from 1, got ${value}`);
      }
    }
  }

  /** Reads (or makes) the namespace's epoch with `query`: called when the store connects. */
  async open(query: LogContext["query"]): Promise<void> {
    const { namespace } = this.context;
    await query("epoch", [namespace, randomBytes(4).toString("hex")]);
    const { rows } = await query("readEpoch", [namespace]);
    this.epoch = (rows[0] as { epoch: string }).epoch;
  }

  /** The owner's partition of `root` (whose get, list and count it keeps), with its log. */
  partition(root: SessionStore, owner: string): SessionPartition {
    const encoded = encodeURIComponent(owner);
    const prefix = partitionPrefix(owner);
    const { watcher } = this.context;
    return {
      ...prefixPartition(root, owner),
      set: (record, condition, change) => this.set(owner, record, condition, change),
      delete: (id, condition, change) => this.remove(owner, prefix + id, condition, change),
      clear: () => this.clear(owner),
      changes: (request) => this.changes(encoded, request),
      watch: (listener) => watcher.watch(owner, encoded, listener),
    };
  }

  /** The entries of the encoded owner's log after `request.cursor`; see `changes`. */
  async changes(owner: string, { cursor, limit }: ChangesRequest): Promise<ChangePage> {
    const head = async () => {
      const { rows } = await this.context.query("head", [this.context.namespace, owner]);
      return cursorOf(this.epoch, (rows[0] as { head: string }).head);
    };
    if (cursor === undefined) return { entries: [], next: await head() };
    await this.context.connected();
    const after = positionOf(this.epoch, cursor);
    if (after === undefined) return { entries: [], next: await head(), resync: true };
    const values = [this.context.namespace, owner, after, limit + 1];
    const rows = (await this.context.query("page", values)).rows as EntryRow[];
    const { floor, head: newest } = rows[0] as EntryRow;
    const found = rows.filter((row) => row.seq !== null);
    // Entries were dropped after the cursor (by count or age), or the cursor is ahead of
    // anything this owner's log made.
    const lost = BigInt(after) < BigInt(floor) || BigInt(after) > BigInt(newest);
    if (lost) return { entries: [], next: cursorOf(this.epoch, newest), resync: true };
    const page = found.slice(0, limit);
    const entries = page.flatMap((row) => this.entry(row) ?? []);
    // From the last row, not the last entry: one whose record was unreadable is passed too.
    const next = cursorOf(this.epoch, page.at(-1)?.seq ?? newest);
    return found.length > limit ? { entries, next, more: true } : { entries, next };
  }

  /**
   * The root's sweep of owners' records: each deleted with an `expired` entry, a batch of owners
   * at a time; then every owner's entries older than `maxAge` dropped. Resolves to the records
   * deleted.
   */
  async purgeOwners(now: number): Promise<SessionRecord[]> {
    const { namespace } = this.context;
    const swept: SessionRecord[] = [];
    for (let more = true; more; ) {
      const values = [namespace, now, RECORD_FORMAT, SWEEP_OWNERS];
      const rows = (await this.context.query("purge", values)).rows as (Row & { owners: string })[];
      swept.push(...this.context.read(rows));
      more = rows.length > 0 && Number((rows[0] as { owners: string }).owners) >= SWEEP_OWNERS;
    }
    await this.context.query("age", [namespace, this.maxAge]);
    await this.context.query("forget", [namespace, this.maxAge]);
    return swept;
  }

  private async set(
    owner: string,
    record: SessionRecord,
    condition: WriteCondition | undefined,
    change: StoreChange | undefined,
  ): Promise<boolean> {
    const prefix = partitionPrefix(owner);
    const row = toRow(this.context.namespace, { ...record, id: prefix + record.id });
    const encoded = encodeURIComponent(owner);
    const logged = [...row, encoded, change ?? null, encodeRecord(record)];
    if (!condition) return this.write(owner, encoded, "upsert", logged);
    if ("ifAbsent" in condition) return this.write(owner, encoded, "insert", logged);
    return this.write(owner, encoded, "update", [...logged, condition.ifVersion]);
  }

  private remove(
    owner: string,
    id: string,
    condition: { readonly ifVersion: number } | undefined,
    change: StoreChange | undefined,
  ): Promise<boolean> {
    const encoded = encodeURIComponent(owner);
    const values = [this.context.namespace, id, encoded, change ?? null];
    if (!condition) return this.write(owner, encoded, "delete", values);
    const versioned = [...values, condition.ifVersion, RECORD_FORMAT];
    return this.write(owner, encoded, "deleteVersion", versioned);
  }

  private async clear(owner: string): Promise<SessionRecord[]> {
    const prefix = partitionPrefix(owner);
    const encoded = encodeURIComponent(owner);
    await this.context.watcher.ready(owner);
    const values = [this.context.namespace, prefix, prefixEnd(prefix), RECORD_FORMAT, encoded];
    const { rows } = await this.context.query("clear", values);
    const removed = this.context
      .read(rows as Row[])
      .map((r) => Object.freeze({ ...r, id: r.id.slice(prefix.length) }));
    if (removed.length > 0) await this.appended(owner, encoded, removed.length);
    return removed;
  }

  /** Runs a logged write; `true` when it wrote (and so appended). */
  private async write(
    owner: string,
    encoded: string,
    statement: keyof LogStatements,
    values: unknown[],
  ): Promise<boolean> {
    // A watch just started reads its head first: a write made after `watch` returned is heard.
    await this.context.watcher.ready(owner);
    const { rowCount } = await this.context.query(statement, values);
    if (!rowCount) return false;
    await this.appended(owner, encoded, 1);
    return true;
  }

  /** Counts `n` appends to the owner's log; every `step`, drops its entries past the bound. */
  private async appended(owner: string, encoded: string, n: number): Promise<void> {
    this.context.watcher.changed(owner);
    if (this.appends.size >= COUNTED_OWNERS) this.appends.clear();
    const count = (this.appends.get(encoded) ?? 0) + n;
    if (count < this.step) {
      this.appends.set(encoded, count);
      return;
    }
    this.appends.delete(encoded);
    await this.context.query("prune", [this.context.namespace, encoded, this.maxEntries]);
  }

  /** The entry of `row`; `undefined` (reported) when its record cannot be read. */
  private entry(row: EntryRow): ChangeEntry | undefined {
    const cursor = cursorOf(this.epoch, row.seq as string);
    const { id, change, at, record: text } = row;
    if (text === null) return Object.freeze({ cursor, change, id, at });
    const where = `${this.context.where} log ${shortId(id)}`;
    const record = this.context.skip(() => decodeRecord(text, where));
    return record && Object.freeze({ cursor, change, id, record, at });
  }
}
