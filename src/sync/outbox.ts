// The queue of writes a replica has made locally and not yet sent to the server. It lives in the
// local store itself, as one record under a reserved id, so that it survives reloads and is
// shared by the tabs that share the store; every change to it is a conditional write.
import { MAX_DATE_MS, reservedId } from "../constants.ts";
import { BackendError, ConflictError } from "../errors.ts";
import type { SessionRecord, SessionStore } from "../stores/types.ts";
import { conditionalWrite } from "../write.ts";
import type { Cursor } from "./answers.ts";
import { isRecord } from "./changes.ts";

/**
 * The id of the outbox record: longer than a session id may be (256 characters), so it never
 * collides with one, and `isReservedId` keeps it out of the manager's lists.
 */
export const OUTBOX_ID: string = reservedId("outbox");

/**
 * A queued write. Keys are short: thousands may wait while offline. `n` tells ops apart;
 * `if` is the condition it was made under: `0` create only, `v` replace (or delete) at version
 * `v`, absent none.
 */
export type Op =
  | { readonly n: number; readonly put: SessionRecord; readonly if?: number | undefined }
  | { readonly n: number; readonly del: string; readonly if?: number | undefined }
  | { readonly n: number; readonly clear: true };

/** An op before the outbox numbers it. */
export type NewOp = DistributiveOmit<Op, "n">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What the outbox record holds: the queue, and the cursor of the last pull (a change-log
 * position, or the server's clock in outboxes written before change logs, still read).
 */
export interface OutboxState {
  readonly ops: readonly Op[];
  /** The `n` of the next op. */
  readonly next: number;
  readonly cursor?: Cursor;
}

// The format of the outbox record's data; another one (a newer SDK in another tab) is left alone.
const FORMAT = 1;
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
 * await outbox.append({ put: record, if: 1 });
 */
export class Outbox {
  constructor(private readonly store: SessionStore) {}

  /** The queue and cursor as stored now. */
  async read(): Promise<OutboxState> {
    return parse(await this.store.get(OUTBOX_ID));
  }

  /**
   * Queues `op` after every op already queued. With `before` (the state before the store was
   * cleared), puts that back first, then `op`, then whatever another tab queued since.
   */
  append(op: NewOp, before?: OutboxState): Promise<OutboxState> {
    return this.update((state) => {
      const base = before ?? state;
      const added = [op, ...(before ? state.ops : [])].map((o, i) => numbered(o, base.next + i));
      return { ...base, ops: [...base.ops, ...added], next: base.next + added.length };
    });
  }

  /** Drops the ops `drop` picks (sent and answered, or built on a copy the server refused). */
  remove(drop: (op: Op) => boolean): Promise<OutboxState> {
    return this.update((state) => {
      const ops = state.ops.filter((op) => !drop(op));
      return ops.length === state.ops.length ? state : { ...state, ops };
    });
  }

  /** Keeps the cursor of a pull (it moves on: it is a new one each time). */
  setCursor(cursor: Cursor): Promise<OutboxState> {
    return this.update((state) => ({ ...state, cursor }));
  }

  /**
   * Applies `change` under the version it read, again while another writer comes between;
   * `change` returns the state it was given when there is nothing to write.
   */
  private async update(change: (state: OutboxState) => OutboxState): Promise<OutboxState> {
    // What the last `decide` made: the state written, or the one read when nothing changed.
    let result!: OutboxState;
    await conditionalWrite({
      store: this.store,
      read: () => this.store.get(OUTBOX_ID),
      decide: (stored) => {
        const state = parse(stored);
        result = change(state);
        return result === state ? undefined : toRecord(result, (stored?.version ?? 0) + 1);
      },
      attempts: ATTEMPTS,
      conflict: () => new ConflictError("the sync outbox kept changing under this tab's writes"),
    });
    return result;
  }
}

/**
 * `op` numbered `n`, built as a literal of a fixed shape: a spread copy would be a dictionary
 * object, five times the size (about 250 bytes a queued write rather than 50).
 */
function numbered(op: NewOp | Op, n: number): Op {
  if ("put" in op) {
    const { put, if: base } = op;
    return Object.freeze(base === undefined ? { n, put } : { n, put, if: base });
  }
  if ("del" in op) {
    const { del, if: base } = op;
    return Object.freeze(base === undefined ? { n, del } : { n, del, if: base });
  }
  return Object.freeze({ n, clear: true });
}

/** The state in the outbox record; an empty queue when there is none. */
function parse(stored: SessionRecord | undefined): OutboxState {
  // A fresh outbox numbers from the clock, so numbers never repeat those of one a clear removed.
  if (!stored) return { ops: [], next: Date.now() };
  const { v, ops, next, cursor } = isRecord(stored.data) ? stored.data : {};
  if (
    v !== FORMAT ||
    !Array.isArray(ops) ||
    typeof next !== "number" ||
    !Number.isSafeInteger(next)
  ) {
    throw new BackendError(`the sync outbox has format ${v}, not ${FORMAT}: left as it is`);
  }
  const state = { ops, next };
  return typeof cursor === "number" || typeof cursor === "string" ? { ...state, cursor } : state;
}

function toRecord(state: OutboxState, version: number): SessionRecord {
  const data = Object.freeze({ v: FORMAT, ...state, ops: Object.freeze(state.ops) });
  return Object.freeze({
    id: OUTBOX_ID,
    data,
    createdAt: 0,
    updatedAt: Date.now(),
    expiresAt: MAX_DATE_MS,
    ttl: MAX_DATE_MS,
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
