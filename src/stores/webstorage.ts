/**
 * Stores on the Web Storage API: {@link localStorageStore} (across reloads and tabs of the
 * origin) and {@link sessionStorageStore} (one tab).
 * @packageDocumentation
 */
import { scope } from "../constants.ts";
import { shortId } from "../log.ts";
import { decodeRecord, encodeRecord } from "./record.ts";
import { holds } from "./shared/condition.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "./types.ts";

/** Options of the localStorage and sessionStorage stores. */
export interface WebStorageStoreOptions {
  /**
   * Keys are `sessionmanager:<namespace>:<id>`, with `%` and `:` in the namespace written `%25`
   * and `%3A` (so `shop` never reaches `shop:eu`); other keys are never read or touched.
   */
  namespace?: string;
  /** The `Storage` to use instead of the page's (tests, or a polyfill). */
  storage?: Storage;
}

/**
 * Sessions in `localStorage`: they survive reloads and are shared by the tabs of one origin.
 * @example
 * new SessionManager({ backend: localStorageStore({ namespace: "myapp" }) })
 */
export function localStorageStore(options: WebStorageStoreOptions = {}): SessionStore {
  return webStorageStore("localStorage", options, true);
}

/**
 * Sessions in `sessionStorage`: they survive reloads of one tab and end with it.
 * @example
 * new SessionManager({ backend: sessionStorageStore({ namespace: "myapp" }) })
 */
export function sessionStorageStore(options: WebStorageStoreOptions = {}): SessionStore {
  return webStorageStore("sessionStorage", options, false);
}

function webStorageStore(
  name: "localStorage" | "sessionStorage",
  options: WebStorageStoreOptions,
  shared: boolean,
): SessionStore {
  const prefix = `${scope(options.namespace)}:`;
  let storage: Storage;
  let report: (error: Error) => void = () => {};

  /** The record under `key`, or `undefined` if there is none or it cannot be read (reported). */
  const read = (key: string): SessionRecord | undefined => {
    const text = storage.getItem(key);
    if (text === null) return undefined;
    try {
      return decodeRecord(text, `${name} ${prefix}${shortId(key.slice(prefix.length))}`);
    } catch (error) {
      report(error as Error);
      return undefined;
    }
  };
  /** Every readable record of this namespace, with its key. */
  const entries = (): [string, SessionRecord][] => {
    const found: [string, SessionRecord][] = [];
    // Keys first: removing while walking by index would skip entries.
    const keys: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key?.startsWith(prefix)) keys.push(key);
    }
    for (const key of keys) {
      const record = read(key);
      if (record) found.push([key, record]);
    }
    return found;
  };
  // An unreadable record (another format) is not absent: it counts as present for ifAbsent.
  const meets = (key: string, condition: WriteCondition): boolean =>
    "ifAbsent" in condition ? storage.getItem(key) === null : holds(read(key), condition);

  return {
    name,
    capabilities: { shared, fallback: true },
    open(context: StoreContext) {
      report = (error) => context.report(error);
      // Reading the property throws SecurityError where storage is blocked (sandboxed iframes,
      // cookies disabled); a write throws QuotaExceededError in Safari's old private mode.
      storage = options.storage ?? globalThis[name];
      const probe = `${prefix}\u0000probe`;
      storage.setItem(probe, "1");
      storage.removeItem(probe);
    },
    get: (id) => read(prefix + id),
    set(record, condition) {
      const key = prefix + record.id;
      if (condition && !meets(key, condition)) return false;
      storage.setItem(key, encodeRecord(record));
      return true;
    },
    delete(id, condition) {
      const key = prefix + id;
      if (condition ? !meets(key, condition) : storage.getItem(key) === null) return false;
      storage.removeItem(key);
      return true;
    },
    list: () => entries().map(([, record]) => record),
    clear() {
      // Only records this version can read: anything else under the prefix is left alone.
      for (const [key] of entries()) storage.removeItem(key);
    },
    purgeExpired(now) {
      const removed: SessionRecord[] = [];
      for (const [key, record] of entries()) {
        if (record.expiresAt > now) continue;
        storage.removeItem(key);
        removed.push(record);
      }
      return removed;
    },
  };
}
