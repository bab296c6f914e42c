// The IndexedDB store's batches: the calls of one task in one transaction, and whole-store sweeps.
import { unwrap } from "idb";
import type { StoredObject } from "../record.ts";
import { holds } from "../shared/condition.ts";
import type { SessionRecord, WriteCondition } from "../types.ts";
import { type Database, INDEX, STORE, type Store } from "./connection.ts";

/** From this many ids on, a batch learns which exist with one range read, not a get each. */
const PREFETCH = 16;

export type Read = (value: unknown, id: IDBValidKey, quiet?: boolean) => SessionRecord | undefined;

/** One queued get (`write` undefined), set (the object to store) or delete (`null`). */
export interface Op {
  readonly id: string;
  readonly write: StoredObject | null | undefined;
  readonly condition: WriteCondition | undefined;
  result?: SessionRecord | boolean | undefined;
  readonly resolve: (result: SessionRecord | boolean | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs `body` on the store in a new transaction, and resolves with what it returned once the
 * transaction has committed (idb's `done`); rejects when it aborts. When `body` fails, the
 * transaction is aborted and the call fails with `body`'s own error, not the bare AbortError of
 * the transaction, which `use` would take for a closed connection.
 */
async function transact<T, Mode extends IDBTransactionMode>(
  db: Database,
  mode: Mode,
  body: (store: Store<Mode>) => Promise<T>,
): Promise<T> {
  const tx = db.transaction(STORE, mode);
  // A write that fails (its request has no promise: see `applyAll`) aborts the transaction, and
  // idb's `done` rejects with a bare AbortError, as the transaction has no error yet while the
  // request's error event bubbles to it: keep the request's own.
  let failed: DOMException | null = null;
  unwrap(tx).addEventListener("error", (event) => {
    failed ??= (event.target as IDBRequest).error;
  });
  let result: T;
  try {
    result = await body(tx.store);
  } catch (error) {
    tx.done.catch(() => undefined);
    // A request's error event, not prevented, aborts the transaction (before this runs, in
    // fake-indexeddb; right after, in browsers, which ignore a second abort); a throw of ours
    // would not: its writes so far would commit.
    if (!tx.error) tx.abort();
    throw error;
  }
  await tx.done.catch((error: unknown) => {
    throw failed ?? error;
  });
  return result;
}

/**
 * Runs the ops in one transaction, readwrite if any writes. Ops on one id run in call order,
 * each seeing those before it and keeping its own condition result; other ids run alongside.
 */
export function runBatch(db: Database, ops: Op[], read: Read): Promise<void> {
  const writes = ops.some((op) => op.write !== undefined);
  // A batch of gets only never writes: its store's write methods go unused.
  return transact(db, writes ? "readwrite" : "readonly", async (store) => {
    const byId = new Map<string, Op[]>();
    for (const op of ops) byId.get(op.id)?.push(op) ?? byId.set(op.id, [op]);
    const present = byId.size < PREFETCH ? undefined : await prefetch(store, [...byId.keys()]);
    const settle = (same: Op[]) => settleId(store as Store<"readwrite">, same, present, read);
    await Promise.all([...byId.values()].map(settle));
  });
}

/**
 * Runs the ops of one id: reads its stored value, unless known absent or not needed (a plain
 * set, a lone add), then applies them in order.
 */
async function settleId(
  store: Store<"readwrite">,
  same: Op[],
  present: Set<IDBValidKey> | undefined,
  read: Read,
): Promise<void> {
  const op = same[0] as Op;
  const { id, write, condition: c } = op;
  if (present?.has(id) === false || (write && !c)) applyAll(store, same, undefined, read);
  else if (write && c && "ifAbsent" in c && same.length === 1) {
    op.result = await addIfAbsent(store, write);
  } else applyAll(store, same, await store.get(id), read);
}

/**
 * `add` fails with ConstraintError on an existing key: ifAbsent in one request, not a get and a
 * put (single adds were 20% slower). That error is an answer here, not a failure.
 */
async function addIfAbsent(store: Store<"readwrite">, value: StoredObject): Promise<boolean> {
  const request = store.add(value);
  unwrap(request).addEventListener("error", (event) => {
    if ((event.target as IDBRequest).error?.name !== "ConstraintError") return; // aborts the batch
    event.preventDefault(); // the transaction goes on
    event.stopPropagation(); // nor does idb's `done` of the transaction hear of it
  });
  try {
    await request;
    return true;
  } catch (error) {
    if ((error as Error).name !== "ConstraintError") throw error;
    return false;
  }
}

/**
 * Applies the ops of one id to the value stored before them, in call order. The writes go on the
 * plain store (idb's `unwrap`): their results are not needed, the transaction's `done` says if
 * one failed, and a promise per request, as idb makes, made 10,000 adds ~12% slower.
 */
function applyAll(store: Store<"readwrite">, same: Op[], stored: unknown, read: Read): void {
  const writer = unwrap(store);
  for (const op of same) {
    const { id, write, condition: c } = op;
    // Only records this version can read are replaced on a version or deleted (record.ts). Not
    // read for ifAbsent: an error per call (with its stack) made a burst of adds 20% slower.
    const record =
      stored === undefined || (write && !(c && "ifVersion" in c))
        ? undefined
        : read(stored, id, write !== undefined);
    if (write === undefined) {
      op.result = record;
      continue;
    }
    const ok = c ? holds(record, c, stored !== undefined) : write !== null || record !== undefined;
    op.result = ok;
    if (!ok) continue;
    if (write) writer.put(write);
    else writer.delete(id);
    stored = write ?? undefined;
  }
}

/**
 * Learns which of many ids exist with one `getAllKeys` over their range, so that absent ones
 * (most, in a burst of `add`s) cost no `get`: a get per id made 10,000 adds 1.6x slower.
 * Gives nothing when the range holds too many other keys to fetch them all.
 */
async function prefetch(
  store: Store<IDBTransactionMode>,
  ids: string[],
): Promise<Set<IDBValidKey> | undefined> {
  let low = ids[0] as string;
  let high = low;
  // JavaScript compares strings by code unit, as IndexedDB orders string keys.
  for (const id of ids) {
    if (id < low) low = id;
    if (id > high) high = id;
  }
  const limit = ids.length * 4;
  const keys = await store.getAllKeys(IDBKeyRange.bound(low, high), limit);
  return keys.length < limit ? new Set(keys) : undefined;
}

/**
 * The readable records in `range` of the `expiresAt` index (all, for `null`), deleted too in a
 * readwrite transaction; unreadable ones are reported and left in place. IndexedDB deletes
 * ranges of primary keys only, hence a read of the range first.
 */
export function sweep(
  db: Database,
  mode: IDBTransactionMode,
  range: IDBKeyRange | null,
  read: Read,
): Promise<SessionRecord[]> {
  return transact(db, mode, async (store) => {
    const found: SessionRecord[] = [];
    // Plain deletes, as in `applyAll`.
    const writer = unwrap(store);
    for (const value of await (range ? store.index(INDEX) : store).getAll(range)) {
      const record = read(value, value.id);
      if (!record) continue;
      found.push(record);
      if (mode === "readwrite") writer.delete(record.id);
    }
    return found;
  });
}
