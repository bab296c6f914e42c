/**
 * The IndexedDB store: sessions across reloads and tabs of the origin, one database per
 * namespace.
 * @packageDocumentation
 */
import { scope } from "../../constants.ts";
import { shortId } from "../../log.ts";
import { readRecord, toStoredObject } from "../record.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "../types.ts";
import { type Op, type Read, runBatch, sweep } from "./batch.ts";
import { type Connection, connection } from "./connection.ts";

/** Options of the IndexedDB store. */
export interface IndexedDBStoreOptions {
  /** The database is `sessionmanager:<namespace>`, one per namespace; no other is opened. */
  namespace?: string;
  /** The `IDBFactory` to use instead of the page's `indexedDB` (tests, a polyfill). */
  indexedDB?: IDBFactory;
}

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
