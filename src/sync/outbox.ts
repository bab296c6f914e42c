// The queue of writes a replica has made locally and not yet sent to the server. It lives in the
// local store itself, as one record under a reserved id, so that it survives reloads and is
// shared by the tabs that share the store; every change to it is a conditional write.
import { BackendError, ConflictError } from "../errors.ts";
import type { SessionRecord, SessionStore, WriteCondition } from "../stores/types.ts";

/**
 * The id of the outbox record: longer than a session id may be (256 characters), so it never
 * collides with one, and `isReservedId` keeps it out of the manager's lists.
 */
export const OUTBOX_ID: string = `sessionmanager:outbox:${"-".repeat(256)}`;

/**
 * A queued write. Keys are short: thousands may wait while offline. `n` tells ops apart;
 * `if` is the condition it was made under: `0` create only, `v` replace (or delete) at version
 * `v`, absent none. A delete made by the expiry sweep is `swept`: losing it is no conflict.
 */
export type Op =
  | { readonly n: number; readonly put: SessionRecord; readonly if?: number | undefined }
  | {
      readonly n: number;
      readonly del: string;
      readonly if?: number | undefined;
      readonly swept?: true | undefined;
    }
  | { readonly n: number; readonly clear: true };

/** An op before the outbox numbers it. */
export type NewOp = DistributiveOmit<Op, "n">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the outbox record holds: the queue, and the cursor of the last pull. */
export interface OutboxState {
  readonly ops: readonly Op[];
  /** The `n` of the next op. */
  readonly next: number;
  readonly cursor?: number;
}

// The format of the outbox record's data; another one (a newer SDK in another tab) is left alone.
const FORMAT = 1;
// The largest time a Date can hold: the outbox never expires.
const NEVER = 864e13;
// Tabs writing the outbox at the same moment: each retry re-reads; this many means a livelock.
const ATTEMPTS = 20;

/** The id a queued op writes (`undefined` for a clear, which writes them all). */
export function idOf(op: Op): string | undefined {
  return "put" in op ? op.put.id : "del" in op ? op.del : undefined;
}

/**
 * The outbox of one local store.
 * @example
 * const outbox = new Outbox(localStore);
 * await outbox.append([{ put: record, if: 1 }]);
 */
export class Outbox {
  constructor(private readonly store: SessionStore) {}

  /** The queue and cursor as stored now. */
  async read(): Promise<OutboxState> {
    return parse(await this.store.get(OUTBOX_ID));
  }

  /** Queues ops after every op already queued. */
  append(ops: readonly NewOp[]): Promise<OutboxState> {
    return this.update((state) => {
      const added = ops.map((op, i) => numbered(op, state.next + i));
      return { ...state, ops: [...state.ops, ...added], next: state.next + ops.length };
    });
  }

  /** Drops the ops numbered `ns` (sent and answered). */
  remove(ns: readonly number[]): Promise<OutboxState> {
    const gone = new Set(ns);
    return this.update((state) => without(state, (op) => gone.has(op.n)));
  }

  /** Drops every op that writes `id` (they built on a copy the server refused). */
  removeId(id: string): Promise<OutboxState> {
    return this.update((state) => without(state, (op) => idOf(op) === id));
  }

  setCursor(cursor: number): Promise<OutboxState> {
    return this.update((state) => (state.cursor === cursor ? state : { ...state, cursor }));
  }

  /**
   * Puts `before` back after the store was cleared, with a clear op queued after it (and after
   * it, whatever another tab queued since the clear).
   */
  restore(before: OutboxState): Promise<OutboxState> {
    return this.update((since) => {
      const clear = numbered({ clear: true }, before.next);
      const later = since.ops.map((op, i) => numbered(op, before.next + 1 + i));
      const ops = [...before.ops, clear, ...later];
      const state = { ops, next: before.next + 1 + later.length };
      return before.cursor === undefined ? state : { ...state, cursor: before.cursor };
    });
  }

  /**
   * Applies `change` under the version it read, again while another writer comes between;
   * `change` returns the state it was given when there is nothing to write.
   */
  private async update(change: (state: OutboxState) => OutboxState): Promise<OutboxState> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await this.store.get(OUTBOX_ID);
      const state = parse(stored);
      const next = change(state);
      if (next === state) return state;
      const condition = stored ? { ifVersion: stored.version } : ({ ifAbsent: true } as const);
      if (await this.store.set(toRecord(next, (stored?.version ?? 0) + 1), condition)) return next;
    }
    throw new ConflictError("the sync outbox kept changing under this tab's writes");
  }
}

/**
 * `op` numbered `n`, built as a literal of a fixed shape: a spread copy would be a dictionary
 * object, five times the size (about 250 bytes a queued write rather than 50).
 */
function numbered(op: NewOp | Op, n: number): Op {
  if ("put" in op) {
    return Object.freeze(op.if === undefined ? { n, put: op.put } : { n, put: op.put, if: op.if });
  }
  if ("clear" in op) return Object.freeze({ n, clear: true });
  const { del, if: base, swept } = op;
  if (base === undefined) return Object.freeze(swept ? { n, del, swept } : { n, del });
  return Object.freeze(swept ? { n, del, if: base, swept } : { n, del, if: base });
}

/** `state` without the ops `drop` picks; `state` itself when there are none. */
function without(state: OutboxState, drop: (op: Op) => boolean): OutboxState {
  const ops = state.ops.filter((op) => !drop(op));
  return ops.length === state.ops.length ? state : { ...state, ops };
}

/** The state in the outbox record; an empty queue when there is none. */
function parse(stored: SessionRecord | undefined): OutboxState {
  // A fresh outbox numbers from the clock, so numbers never repeat those of one a clear removed.
  if (!stored) return { ops: [], next: Date.now() };
  const data = stored.data as { v?: unknown; ops?: unknown; next?: unknown; cursor?: unknown };
  if (data?.v !== FORMAT || !Array.isArray(data.ops) || !Number.isSafeInteger(data.next)) {
    throw new BackendError(
      `the sync outbox has format ${JSON.stringify(data?.v)}, this version reads ${FORMAT}; left as it is`,
    );
  }
  const state = { ops: data.ops as Op[], next: data.next as number };
  return typeof data.cursor === "number" ? { ...state, cursor: data.cursor } : state;
}

function toRecord(state: OutboxState, version: number): SessionRecord {
  const data = Object.freeze({ v: FORMAT, ...state, ops: Object.freeze(state.ops) });
  return Object.freeze({
    id: OUTBOX_ID,
    data,
    createdAt: 0,
    updatedAt: Date.now(),
    expiresAt: NEVER,
    ttl: NEVER,
    version,
  });
}

// Sends of distinct sessions in flight at once (the writes of one session go one at a time).
const PUSH_CONCURRENCY = 6;

/**
 * The ops to send together: from the head of the queue, at most one per session (its writes
 * go in order, one at a time), and a clear alone.
 */
export function runnable(ops: readonly Op[]): Op[] {
  const batch: Op[] = [];
  const ids = new Set<string>();
  for (const op of ops) {
    const id = idOf(op);
    if (id === undefined) return batch.length === 0 ? [op] : batch;
    if (ids.has(id) || batch.length === PUSH_CONCURRENCY) return batch;
    ids.add(id);
    batch.push(op);
  }
  return batch;
}

/**
 * The condition a queued write goes to the server under: the one it was made under, except
 * that a new session (version 1) is sent as a create: whatever this client replaced locally (a
 * session it saw expire, say) the server may have dropped already, and a live one there wins.
 */
export function serverCondition(op: Exclude<Op, { clear: true }>): WriteCondition | undefined {
  if (op.if === undefined) return undefined;
  return op.if === 0 || ("put" in op && op.put.version === 1)
    ? { ifAbsent: true }
    : { ifVersion: op.if };
}
