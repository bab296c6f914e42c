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
  let context: StoreContext;
  // Made by `open`, which the manager calls before any other method.
  let db!: Connection;
  /**
   * Gets, sets and deletes wait here until the end of the task, then run in one transaction.
   * IndexedDB pays per transaction far more than per request: 10,000 concurrent `add`s of the
   * manager (a get, then a set each) take two transactions instead of 20,000, ~15x faster in Chromium.
   */
  let queue: Op[] = [];
  /** The record in `value`, or `undefined` if it cannot be read (reported unless `quiet`). */
  const read: Read = (value, id, quiet) => {
    try {
      return readRecord(value, `indexedDB ${name} ${shortId(String(id))}`);
    } catch (error) {
      if (!quiet) context.report(error as Error);
      return undefined;
    }
  };
  const flush = (): void => {
    const ops = queue;
    queue = [];
    if (ops.length === 0) return;
    db.use((idb) => runBatch(idb, ops, read)).then(
      () => {
        for (const op of ops) op.resolve(op.result);
      },
      (error: unknown) => {
        for (const op of ops) op.reject(error);
      },
    );
  };
  const add = <T>(id: string, write: Op["write"], condition?: WriteCondition) =>
    new Promise<T>((resolve, reject) => {
      const op: Op = { id, write, condition, resolve: resolve as Op["resolve"], reject };
      if (queue.push(op) === 1) queueMicrotask(flush);
    });
  /** A `sweep` after every queued call: transactions run in the order they are created. */
  const all = (mode: IDBTransactionMode, range: IDBKeyRange | null = null) => {
    flush();
    return db.use((idb) => sweep(idb, mode, range, read));
  };

  return {
    name: "indexedDB",
    capabilities: { shared: true, fallback: true },
    async open(given: StoreContext) {
      context = given;
      // Touched here, never at import: reading `indexedDB` throws SecurityError in sandboxed
      // iframes, it is missing in Node and some WebViews, and Firefox's private mode (before 115)
      // failed every `open` with InvalidStateError. Any rejection makes the manager degrade.
      const factory = options.indexedDB ?? globalThis.indexedDB;
      if (!factory) throw new Error("indexedDB is not available here");
      db = connection(factory, name);
      await db.use(async () => {});
    },
    get: (id) => add<SessionRecord | undefined>(id, undefined),
    set: (record, condition) => add<boolean>(record.id, toStoredObject(record), condition),
    delete: (id, condition) => add<boolean>(id, null, condition),
    list: () => all("readonly"),
    clear: async () => {
      await all("readwrite");
    },
    purgeExpired: (now) => all("readwrite", IDBKeyRange.upperBound(now)),
    close: () => {
      flush();
      return db?.close();
    },
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
  const current = (): Promise<IDBDatabase> =>
    (opening ??= connect(factory, name, forget).then(
      (db) => (live = db),
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    ));
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
  const request = factory.open(name, 1);
  request.onupgradeneeded = () => {
    // The store is there already when a newer release (a higher version) opens this one's database.
    const db = request.result;
    if (!db.objectStoreNames.contains(STORE)) {
      db.createObjectStore(STORE, { keyPath: "id" }).createIndex(INDEX, INDEX);
    }
  };
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Another tab keeps an older version open and ignores versionchange: the upgrade would wait
    // for it with no time limit, and `ready` never resolve. Give up instead (the manager degrades).
    request.onblocked = () => {
      timer = setTimeout(() => {
        // If it opens after all, close it at once, or it would block the next upgrade in turn.
        request.onsuccess = () => request.result.close();
        reject(new Error(`opening ${name} was blocked for ${BLOCKED_MS} ms by another tab`));
      }, BLOCKED_MS);
    };
    request.onsuccess = request.onerror = () => {
      clearTimeout(timer);
      const error = request.error;
      if (error) {
        // VersionError: a newer release of the app upgraded the database in another tab.
        if (error.name !== "VersionError") return reject(error);
        return reject(
          new Error(`${name} was upgraded by a newer version; reload the page`, { cause: error }),
        );
      }
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) {
        db.close();
        return reject(new Error(`${name} has no "${STORE}" store: it was made by other code`));
      }
      // Another tab wants to upgrade or delete the database (versionchange), or the browser closed
      // it (site data cleared, storage pressure): close, so that tab is not blocked; the next call
      // opens again.
      db.onversionchange = db.onclose = () => gone(db);
      resolve(db);
    };
  });
}

/** One queued get (`write` undefined), set (the object to store) or delete (`null`). */
interface Op {
  readonly id: string;
  readonly write: StoredObject | null | undefined;
  readonly condition: WriteCondition | undefined;
  result?: SessionRecord | boolean | undefined;
  readonly resolve: (result: SessionRecord | boolean | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** A request handler whose exceptions abort the transaction with their own error. */
type Guard = <T = void>(fn: (value: T) => void) => (value: T) => void;

/**
 * Runs `body` on the store in a new transaction, and resolves with what it returned once the
 * transaction has committed; rejects when it aborts. A promise per request, as a promise wrapper
 * of IndexedDB makes, costs in a batch of thousands; and an exception in `body` or a `guard`ed
 * handler aborts with its own error, where the browser would abort with a bare AbortError,
 * which `use` would take for a closed connection.
 */
function transact<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  body: (store: IDBObjectStore, guard: Guard) => T,
): Promise<T> {
  const tx = db.transaction(STORE, mode);
  return new Promise((resolve, reject) => {
    const guard: Guard = (fn) => (value) => {
      try {
        fn(value);
      } catch (error) {
        reject(error);
        tx.abort();
      }
    };
    let result: T;
    guard(() => {
      result = body(tx.objectStore(STORE), guard);
    })();
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(tx.error);
  });
}

/**
 * Runs the ops in one transaction, readwrite if any writes. Ops on one id run in call order,
 * each seeing those before it and keeping its own condition result; other ids run alongside.
 */
function runBatch(db: IDBDatabase, ops: Op[], read: Read): Promise<void> {
  const writes = ops.some((op) => op.write !== undefined);
  return transact(db, writes ? "readwrite" : "readonly", (store, guard) => {
    const byId = new Map<string, Op[]>();
    for (const op of ops) byId.get(op.id)?.push(op) ?? byId.set(op.id, [op]);
    /** Applies the ops of one id to the value stored before them; returns the next. */
    const apply = (stored: unknown, op: Op): unknown => {
      const { id, write, condition: c } = op;
      // Only records this version can read are replaced on a version or deleted (record.ts). Not
      // read for ifAbsent: an error per call (with its stack) made a burst of adds 20% slower.
      const record =
        stored === undefined || (write && !(c && "ifVersion" in c))
          ? undefined
          : read(stored, id, write !== undefined);
      if (write === undefined) {
        op.result = record;
        return stored;
      }
      const ok = !c
        ? write !== null || record !== undefined
        : "ifAbsent" in c
          ? stored === undefined
          : record?.version === c.ifVersion;
      op.result = ok;
      if (!ok) return stored;
      if (write) store.put(write);
      else store.delete(id);
      return write ?? undefined;
    };
    /** Reads each id's stored value, unless known absent or not needed (a plain set, a lone add). */
    const start = (present?: Set<IDBValidKey>): void => {
      for (const [id, same] of byId) {
        const op = same[0] as Op;
        const { write, condition: c } = op;
        if (present?.has(id) === false || (write && !c)) same.reduce(apply, undefined);
        else if (write && c && "ifAbsent" in c && same.length === 1) {
          // `add` fails with ConstraintError on an existing key: ifAbsent in one request, not a get
          // and a put (single adds were 20% slower).
          op.result = true;
          const request = store.add(write);
          request.onerror = (event) => {
            if (request.error?.name !== "ConstraintError") return; // aborts the batch
            event.preventDefault(); // an answer, not a failure: the transaction goes on
            op.result = false;
          };
        } else {
          const request = store.get(id);
          request.onsuccess = guard(() => same.reduce(apply, request.result));
        }
      }
    };
    if (byId.size < PREFETCH) start();
    else prefetch(store, [...byId.keys()], guard(start));
  });
}

/**
 * Learns which of many ids exist with one `getAllKeys` over their range, so that absent ones
 * (most, in a burst of `add`s) cost no `get`: a get per id made 10,000 adds 1.6x slower.
 * Hands `start` nothing when the range holds too many other keys to fetch them all.
 */
function prefetch(
  store: IDBObjectStore,
  ids: string[],
  start: (present?: Set<IDBValidKey>) => void,
): void {
  let low = ids[0] as string;
  let high = low;
  // JavaScript compares strings by code unit, as IndexedDB orders string keys.
  for (const id of ids) {
    if (id < low) low = id;
    if (id > high) high = id;
  }
  const limit = ids.length * 4;
  const request = store.getAllKeys(IDBKeyRange.bound(low, high), limit);
  request.onsuccess = () =>
    start(request.result.length < limit ? new Set(request.result) : undefined);
}

/**
 * The readable records in `range` of the `expiresAt` index (all, for `null`), deleted too in a
 * readwrite transaction; unreadable ones are reported and left in place. IndexedDB deletes
 * ranges of primary keys only, hence a read of the range first.
 */
function sweep(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  range: IDBKeyRange | null,
  read: Read,
): Promise<SessionRecord[]> {
  return transact(db, mode, (store) => {
    const found: SessionRecord[] = [];
    const request = (range ? store.index(INDEX) : store).getAll(range);
    request.onsuccess = () => {
      for (const value of request.result) {
        const record = read(value, value.id);
        if (!record) continue;
        found.push(record);
        if (mode === "readwrite") store.delete(record.id);
      }
    };
    return found;
  });
}
