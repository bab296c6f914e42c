import type { SessionRecord, SessionStore, WriteCondition } from "./types.ts";

/** Options of the memory store. */
export interface MemoryStoreOptions {
  /** Accepted for symmetry with other stores; each memory store is its own namespace. */
  namespace?: string;
}

/**
 * A store that keeps records in a `Map`, for tests, servers with one process, and as the fallback
 * of browser stores. It answers synchronously, so reads cost one `Map` lookup.
 * @example
 * new SessionManager({ backend: memoryStore() })
 */
export function memoryStore(_options: MemoryStoreOptions = {}): SessionStore {
  const records = new Map<string, SessionRecord>();
  return {
    name: "memory",
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

function holds(current: SessionRecord | undefined, condition: WriteCondition): boolean {
  return "ifAbsent" in condition ? current === undefined : current?.version === condition.ifVersion;
}
