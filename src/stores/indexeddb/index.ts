import { type DBSchema, type IDBPDatabase, type IDBPObjectStore, unwrap, wrap } from "idb";
import { scope } from "../../constants.ts";
import { shortId } from "../../log.ts";
import { readRecord, type StoredObject, toStoredObject } from "../record.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "../types.ts";

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
  const name = scope(options.namespace);
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

/** The schema of the database, for idb's types. Values may be foreign: `read` checks each. */
interface Schema extends DBSchema {
  sessions: { key: string; value: StoredObject; indexes: { expiresAt: number } };
}
type Database = IDBPDatabase<Schema>;
type Store<Mode extends IDBTransactionMode> = IDBPObjectStore<
  Schema,
  [typeof STORE],
  typeof STORE,
  Mode
>;

type Connection = ReturnType<typeof connection>;

/** The database connection, opened again when the browser or another tab closed it. */
function connection(factory: IDBFactory, name: string) {
  let opening: Promise<Database> | undefined;
  let live: Database | undefined;
  const forget = (db: Database): void => {
    db.close();
    if (live === db) live = opening = undefined;
  };
  const current = (): Promise<Database> =>
    (opening ??= connect(factory, name, forget).then(
      (db) => (live = db),
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    ));
  return {
    /** Runs `fn` on the connection, and once more on a new one if the old one closed under it. */
    async use<T>(fn: (db: Database) => Promise<T>): Promise<T> {
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

/**
 * Opens the database on the given factory with idb, making its schema on first use. idb's
 * `openDB` opens on the global `indexedDB` only (jakearchibald/idb#259), and this store takes a
 * factory (a polyfill, tests): idb's `wrap` makes the same promise of the request, and the four
 * events `openDB` takes callbacks for are handled here.
 */
async function connect(
  factory: IDBFactory,
  name: string,
  gone: (db: Database) => void,
): Promise<Database> {
  const request = factory.open(name, 1);
  const opened = wrap(request) as Promise<Database>;
  request.onupgradeneeded = () => {
    // The store is there already when a newer release (a higher version) opens this one's database.
    const db = request.result;
    if (!db.objectStoreNames.contains(STORE)) {
      db.createObjectStore(STORE, { keyPath: "id" }).createIndex(INDEX, INDEX);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Another tab keeps an older version open and ignores versionchange: the upgrade would wait
  // for it with no time limit, and `ready` never resolve. Give up instead (the manager degrades).
  const blocked = new Promise<never>((_, reject) => {
    request.onblocked = () => {
      timer = setTimeout(() => {
        // If it opens after all, close it at once, or it would block the next upgrade in turn.
        opened.then(
          (db) => db.close(),
          () => undefined,
        );
        reject(new Error(`opening ${name} was blocked for ${BLOCKED_MS} ms by another tab`));
      }, BLOCKED_MS);
    };
  });
  let db: Database;
  try {
    db = await Promise.race([opened, blocked]);
  } catch (error) {
    // VersionError: a newer release of the app upgraded the database in another tab.
    if ((error as Error | null)?.name !== "VersionError") throw error;
    throw new Error(`${name} was upgraded by a newer version; reload the page`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  if (!db.objectStoreNames.contains(STORE)) {
    db.close();
    throw new Error(`${name} has no "${STORE}" store: it was made by other code`);
  }
  // Another tab wants to upgrade or delete the database (versionchange: `blocking` in idb), or the
  // browser closed it (site data cleared, storage pressure: `terminated`): close, so that tab is
  // not blocked; the next call opens again.
  db.onversionchange = db.onclose = () => gone(db);
  return db;
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
function runBatch(db: Database, ops: Op[], read: Read): Promise<void> {
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
    const ok = !c
      ? write !== null || record !== undefined
      : "ifAbsent" in c
        ? stored === undefined
        : record?.version === c.ifVersion;
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
function sweep(
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
