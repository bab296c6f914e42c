import { shortId } from "../log.ts";
import { readRecord, type StoredObject, toStoredObject } from "./record.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "./types.ts";

/** Options of the IndexedDB store. */
export interface IndexedDBStoreOptions {
  /** The database is `sessionmanager:<namespace>`, one per namespace; no other is opened. */
  namespace?: string;
  /** The `IDBFactory` to use instead of the page's `indexedDB` (tests, a polyfill). */
  indexedDB?: IDBFactory;
}

const STORE = "sessions";
const INDEX = "expiresAt";
const VERSION = 1;
/** How long `open` waits for a tab that keeps an older version open before giving up. */
const BLOCKED_MS = 3000;
/** From this many ids on, a batch learns which exist with one range read, not a get each. */
const PREFETCH = 16;
/** The errors of a connection that is gone, after which a call is retried on a new one. */
const RETRY = new Set(["InvalidStateError", "AbortError", "UnknownError"]);

/**
 * Sessions in IndexedDB: they survive reloads, are shared by the tabs of one origin, and may hold
 * far more than `localStorage`. The calls made in one task share one transaction.
 * @example
 * new SessionManager({ backend: indexedDBStore({ namespace: "myapp" }) })
 */
export function indexedDBStore(options: IndexedDBStoreOptions = {}): SessionStore {
  const name = `sessionmanager:${options.namespace ?? "sessionmanager"}`;
  let report: (error: Error) => void = () => {};
  // Made by `open`, which the manager calls before any other method.
  let batch!: Batcher;
  /** The record in `value`, or `undefined` if it cannot be read (reported unless `quiet`). */
  const read: Read = (value, id, quiet) => {
    try {
      return readRecord(value, `indexedDB ${name} ${shortId(String(id))}`);
    } catch (error) {
      if (!quiet) report(error as Error);
      return undefined;
    }
  };

  return {
    name: "indexedDB",
    capabilities: { shared: true, fallback: true },
    async open(context: StoreContext) {
      report = (error) => context.report(error);
      // Touched here, never at import: reading `indexedDB` throws SecurityError in sandboxed
      // iframes, it is missing in Node and some WebViews, and Firefox's private mode (before 115)
      // failed every `open` with InvalidStateError. Any rejection makes the manager degrade.
      const factory = options.indexedDB ?? globalThis.indexedDB;
      if (!factory) throw new Error("indexedDB is not available here");
      batch = batcher(connection(factory, name), read);
      await batch.after(async () => {});
    },
    get: (id) => batch.add<SessionRecord | undefined>(id, undefined),
    set: (record, condition) => batch.add<boolean>(record.id, toStoredObject(record), condition),
    delete: (id, condition) => batch.add<boolean>(id, null, condition),
    list: () =>
      batch.after((db) =>
        transact(db, "readonly", (store) => {
          const request = store.getAll();
          return () =>
            (request.result as { id: string }[]).flatMap((value) => read(value, value.id) ?? []);
        }),
      ),
    clear: async () => {
      await batch.after((db) => sweep(db, null, read));
    },
    purgeExpired: (now) => batch.after((db) => sweep(db, IDBKeyRange.upperBound(now), read)),
    close: () => batch?.close(),
  };
}

type Read = (value: unknown, id: IDBValidKey, quiet?: boolean) => SessionRecord | undefined;

type Connection = ReturnType<typeof connection>;

/** The database connection, opened again when the browser or another tab closed it. */
function connection(factory: IDBFactory, name: string) {
  let opening: Promise<IDBDatabase> | undefined;
  let live: IDBDatabase | undefined;
  const forget = (db: IDBDatabase): void => {
    db.close();
    if (live === db) live = opening = undefined;
  };
  const current = (): Promise<IDBDatabase> => {
    opening ??= connect(factory, name, forget).then(
      (db) => (live = db),
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  };
  return {
    /** Runs `fn` on the connection, and once more on a new one if the old one closed under it. */
    async use<T>(fn: (db: IDBDatabase) => Promise<T>): Promise<T> {
      const db = await current();
      try {
        return await fn(db);
      } catch (error) {
        // Chromium throws InvalidStateError ("The database connection is closing") from
        // transaction() once a connection is closed (by versionchange, by other code); a forced
        // close (site data cleared, storage pressure) aborts its transactions with AbortError;
        // Safari fails every call on a connection whose server process died with UnknownError
        // ("Connection to Indexed Database server lost", WebKit bug 197050) until it is reopened.
        if (!RETRY.has((error as Error | null)?.name ?? "")) throw error;
        forget(db);
        return fn(await current());
      }
    },
    async close(): Promise<void> {
      const pending = opening;
      opening = live = undefined;
      // Transactions already created still complete: close() waits for them (IndexedDB spec).
      (await pending?.catch(() => undefined))?.close();
    },
  };
}

/** Opens the database on the given factory, making its schema on first use. */
function connect(
  factory: IDBFactory,
  name: string,
  gone: (db: IDBDatabase) => void,
): Promise<IDBDatabase> {
  const request = factory.open(name, VERSION);
  request.onupgradeneeded = () => {
    const store = request.result.objectStoreNames.contains(STORE)
      ? (request.transaction as IDBTransaction).objectStore(STORE)
      : request.result.createObjectStore(STORE, { keyPath: "id" });
    if (!store.indexNames.contains(INDEX)) store.createIndex(INDEX, INDEX);
  };
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    // Another tab keeps an older version open and ignores versionchange: the upgrade would wait
    // for it with no time limit, and `ready` never resolve. Give up instead (the manager degrades).
    request.onblocked = () => {
      timer = setTimeout(() => {
        late = true;
        reject(new Error(`opening ${name} was blocked for ${BLOCKED_MS} ms by another tab`));
      }, BLOCKED_MS);
    };
    const opened = (db: IDBDatabase): void => {
      clearTimeout(timer);
      // Opened after we gave up (rejected already): close it at once, or it would block the
      // next upgrade in turn.
      if (late || !db.objectStoreNames.contains(STORE)) {
        db.close();
        reject(new Error(`${name} has no "${STORE}" store: it was made by other code`));
        return;
      }
      // A newer version in another tab wants to upgrade (or delete) the database: close, so that
      // tab is not blocked; the next call here opens again.
      db.addEventListener("versionchange", () => gone(db));
      // The browser closed it (site data cleared, storage pressure): the next call opens again.
      db.addEventListener("close", () => gone(db));
      resolve(db);
    };
    request.onsuccess = () => opened(request.result);
    request.onerror = () => {
      clearTimeout(timer);
      const error = request.error as DOMException;
      // A newer release of the app upgraded the database in another tab: this page is stale.
      if (error.name !== "VersionError") return reject(error);
      reject(
        new Error(`${name} was upgraded by a newer version; reload the page`, { cause: error }),
      );
    };
  });
}

type Batcher = ReturnType<typeof batcher>;

/** One queued get (`write` undefined), set (the object to store) or delete (`null`). */
interface Op {
  readonly id: string;
  readonly write: StoredObject | null | undefined;
  readonly condition: WriteCondition | undefined;
  result: SessionRecord | boolean | undefined;
  readonly resolve: (result: SessionRecord | boolean | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Queues gets, sets and deletes until the end of the task, then runs them in one transaction.
 * IndexedDB pays per transaction far more than per request: 10,000 concurrent `add`s of the
 * manager (a get, then a set each) take two transactions instead of 20,000, ~15x faster in Chromium.
 */
function batcher(db: Connection, read: Read) {
  let queue: Op[] = [];
  const flush = (): void => {
    if (queue.length === 0) return;
    const ops = queue;
    queue = [];
    db.use((idb) => runBatch(idb, ops, read)).then(
      () => {
        for (const op of ops) op.resolve(op.result);
      },
      (error: unknown) => {
        for (const op of ops) op.reject(error);
      },
    );
  };
  return {
    add: <T>(id: string, write: Op["write"], condition?: WriteCondition) =>
      new Promise<T>((resolve, reject) => {
        const settle = resolve as Op["resolve"];
        const op: Op = { id, write, condition, result: undefined, resolve: settle, reject };
        if (queue.push(op) === 1) queueMicrotask(flush);
      }),
    /** Runs `fn` after every queued call: transactions run in the order they are created. */
    after<T>(fn: (db: IDBDatabase) => Promise<T>): Promise<T> {
      flush();
      return db.use(fn);
    },
    close(): Promise<void> {
      flush();
      return db.close();
    },
  };
}

/** What the requests of one batch share. */
interface Run {
  readonly store: IDBObjectStore;
  readonly read: Read;
  readonly fail: (error: unknown) => void;
}

/** A stored value not read yet in this transaction. */
const UNREAD = Symbol("unread");

/**
 * Runs the ops in one transaction, readwrite if any writes. Ops on one id run in call order,
 * each seeing those before it and keeping its own condition result; other ids run alongside.
 */
function runBatch(db: IDBDatabase, ops: Op[], read: Read): Promise<void> {
  const writes = ops.some((op) => op.write !== undefined);
  return transact(db, writes ? "readwrite" : "readonly", (store, fail) => {
    const byId = new Map<string, Op[]>();
    for (const op of ops) byId.get(op.id)?.push(op) ?? byId.set(op.id, [op]);
    const run: Run = { store, read, fail };
    const start = (present?: Set<IDBValidKey>): void => {
      for (const [id, same] of byId)
        step(run, same, 0, present?.has(id) === false ? undefined : UNREAD);
    };
    guard(run, () => (byId.size < PREFETCH ? start() : prefetch(run, [...byId.keys()], start)))();
    return () => undefined;
  });
}

/**
 * Runs `body` on the store in a new transaction, and resolves with what its returned function
 * gives once the transaction has committed; rejects when it aborts. A promise per request, as a
 * promise wrapper of IndexedDB makes, costs in a batch of thousands; and `fail` can abort with
 * an error of its own, where a request's error would abort the transaction as a bare AbortError.
 */
function transact<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  body: (store: IDBObjectStore, fail: (error: unknown) => void) => () => T,
): Promise<T> {
  const tx = db.transaction(STORE, mode);
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void => {
      reject(error);
      try {
        tx.abort();
      } catch {} // it had already ended
    };
    const result = body(tx.objectStore(STORE), fail);
    tx.oncomplete = () => resolve(result());
    tx.onabort = () => reject(tx.error ?? new DOMException("transaction aborted", "AbortError"));
  });
}

/**
 * Learns which of many ids exist with one `getAllKeys` over their range, so that absent ones
 * (most, in a burst of `add`s) cost no `get`: a get per id made 10,000 adds 1.6x slower.
 * Hands `start` nothing when the range holds too many other keys to fetch them all.
 */
function prefetch(run: Run, ids: string[], start: (present?: Set<IDBValidKey>) => void): void {
  let low = ids[0] as string;
  let high = low;
  // JavaScript compares strings by code unit, as IndexedDB orders string keys.
  for (const id of ids) {
    if (id < low) low = id;
    else if (id > high) high = id;
  }
  const limit = ids.length * 4;
  const request = run.store.getAllKeys(IDBKeyRange.bound(low, high), limit);
  request.onsuccess = guard(run, () =>
    start(request.result.length < limit ? new Set(request.result) : undefined),
  );
}

/** Applies `ops[from…]` (all of one id) in order, reading the stored value only if it must. */
function step(run: Run, ops: Op[], from: number, stored: unknown): void {
  for (let i = from; i < ops.length; i++) {
    const op = ops[i] as Op;
    const { write, condition } = op;
    if (stored !== UNREAD || (write && !condition)) {
      stored = apply(run, op, stored);
    } else if (write && condition && "ifAbsent" in condition) {
      // `add` fails with ConstraintError on an existing key: ifAbsent in one request, not two.
      const request = run.store.add(write);
      request.onsuccess = guard(run, () => {
        op.result = true;
        step(run, ops, i + 1, write);
      });
      request.onerror = guard(run, (event) => {
        if (request.error?.name !== "ConstraintError") return; // aborts the batch
        event?.preventDefault(); // an answer, not a failure: the transaction goes on
        op.result = false;
        step(run, ops, i + 1, UNREAD);
      });
      return;
    } else {
      const request = run.store.get(op.id);
      request.onsuccess = guard(run, () => step(run, ops, i, request.result));
      return;
    }
  }
}

/** Applies one op to the value stored before it (or to any, for a plain set); returns the next. */
function apply(run: Run, op: Op, stored: unknown): unknown {
  if (op.write === undefined) {
    op.result = stored === undefined ? undefined : run.read(stored, op.id);
    return stored;
  }
  const c = op.condition;
  // Only records this version can read are replaced on a version or deleted (record.ts). Not
  // read for ifAbsent: an error per call (with its stack) made a burst of adds 20% slower.
  const byVersion = op.write === null || (c !== undefined && "ifVersion" in c);
  const version =
    byVersion && stored !== undefined ? run.read(stored, op.id, true)?.version : undefined;
  const ok = op.write
    ? !c || ("ifAbsent" in c ? stored === undefined : version === c.ifVersion)
    : version !== undefined && (!c || ("ifVersion" in c && version === c.ifVersion));
  op.result = ok;
  if (!ok) return stored;
  if (op.write) run.store.put(op.write);
  else run.store.delete(op.id);
  return op.write ?? undefined;
}

/**
 * A request handler whose exceptions abort the batch with their own error (an exception left to
 * the browser also aborts it, but as a bare AbortError, which `use` would take for a close).
 */
function guard(run: Run, fn: (event?: Event) => void): (event?: Event) => void {
  return (event) => {
    try {
      fn(event);
    } catch (error) {
      run.fail(error);
    }
  };
}

/**
 * Deletes, in one readwrite transaction, the readable records in `range` of the `expiresAt`
 * index (or all, for `null`) and returns them. IndexedDB deletes ranges of primary keys only,
 * so one cursor walks the index; unreadable records are reported and left in place.
 */
function sweep(db: IDBDatabase, range: IDBKeyRange | null, read: Read): Promise<SessionRecord[]> {
  return transact(db, "readwrite", (store) => {
    const removed: SessionRecord[] = [];
    const request = (range ? store.index(INDEX) : store).openCursor(range);
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) return;
      const record = read(cursor.value, cursor.primaryKey);
      if (record) {
        removed.push(record);
        cursor.delete(); // a failed delete aborts the transaction, which rejects
      }
      cursor.continue();
    };
    return () => removed;
  });
}
