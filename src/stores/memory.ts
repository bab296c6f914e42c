/**
 * The memory store, the default: sessions for as long as the process or page lives. Stores given
 * one {@link memorySpace} share their records by namespace.
 * @packageDocumentation
 */
import { DEFAULT_NAMESPACE } from "../constants.ts";
import { holds } from "./shared/condition.ts";
import { liveCount } from "./shared/count.ts";
import type { SessionRecord, SessionStore } from "./types.ts";

/** Options of the memory store. */
export interface MemoryStoreOptions {
  /**
   * Which records of `space` this store holds; stores on one space with different namespaces
   * never see each other's records, as on a shared server. Without a `space` each store is a
   * space of its own, so the namespace keeps nothing apart.
   */
  namespace?: string;
  /**
   * Memory that several stores share (`memorySpace()`), as processes share a Redis: stores on
   * one space with one namespace hold the same records. Default: a space of this store's own,
   * so two memory stores never share records unless given one space.
   */
  space?: MemorySpace;
}

/**
 * Memory that memory stores can share (`memorySpace()`), holding each namespace's records apart.
 * Treat it as opaque: it is the records by namespace, then id.
 */
export type MemorySpace = Map<string, Map<string, SessionRecord>>;

/**
 * Memory for memory stores to share: stores given the same space and namespace hold the same
 * records (as tabs share `localStorage`), other namespaces stay apart.
 * @example
 * const space = memorySpace();
 * memoryStore({ space, namespace: "a" }); memoryStore({ space, namespace: "b" });
 */
export function memorySpace(): MemorySpace {
  return new Map();
}

/**
 * A store that keeps records in a `Map`, for tests, servers with one process, and as the fallback
 * of browser stores. It answers synchronously, so reads cost one `Map` lookup. Each store has
 * memory of its own unless given a shared `space`.
 * @example
 * new SessionManager({ backend: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const { space, namespace = DEFAULT_NAMESPACE } = options;
  // Without a space, a map of this store's own.
  const records = space?.get(namespace) ?? new Map<string, SessionRecord>();
  space?.set(namespace, records);
  return {
    name: "memory",
    capabilities: { processLog: "complete" },
    get: (id) => records.get(id),
    set(record, condition) {
      if (condition && !holds(records.get(record.id), condition)) return false;
      records.set(record.id, record);
      return true;
    },
    delete(id, condition) {
      if (condition && !holds(records.get(id), condition)) return false;
      return records.delete(id);
    },
    list: () => [...records.values()],
    listPrefix: (prefix) => [...records.values()].filter((r) => r.id.startsWith(prefix)),
    count: (request) => liveCount(records.values(), request),
    clear: () => records.clear(),
    purgeExpired(now) {
      const removed: SessionRecord[] = [];
      for (const record of records.values()) {
        if (record.expiresAt <= now) {
          records.delete(record.id);
          removed.push(record);
        }
      }
      return removed;
    },
  };
}
