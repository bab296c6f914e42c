// The IndexedDB store's connection: opened with idb, and again when the browser or a tab closes it.
import { type DBSchema, type IDBPDatabase, type IDBPObjectStore, wrap } from "idb";
import type { StoredObject } from "../record.ts";

export const STORE = "sessions";
export const INDEX = "expiresAt";
/** How long `open` waits for a tab that keeps an older version open before giving up. */
const BLOCKED_MS = 3000;
/** The errors of a connection that is gone, after which a call is retried on a new one. */
const RETRY = new Set(["InvalidStateError", "AbortError", "UnknownError"]);

/** The schema of the database, for idb's types. Values may be foreign: `read` checks each. */
interface Schema extends DBSchema {
  sessions: { key: string; value: StoredObject; indexes: { expiresAt: number } };
}
export type Database = IDBPDatabase<Schema>;
export type Store<Mode extends IDBTransactionMode> = IDBPObjectStore<
  Schema,
  [typeof STORE],
  typeof STORE,
  Mode
>;

export type Connection = ReturnType<typeof connection>;

/** The database connection, opened again when the browser or another tab closed it. */
export function connection(factory: IDBFactory, name: string) {
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
