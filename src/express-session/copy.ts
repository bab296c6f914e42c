// express-session gets a mutable copy of what the manager read: the manager's data is frozen (and
// may be shared, as the memory store's records are), while express-session sets `sess.cookie` in
// place and the app changes `req.session` and what it holds as it likes, as with MemoryStore.

/**
 * A deep, mutable copy of `data`, which is JSON already (the manager stores data as JSON would
 * and freezes it), so JSON's round trip would change nothing in it: this walk gives the same
 * objects at ~1/8 of its cost on a session's worth of data, a read's largest cost in this store.
 */
export function copyOut<T>(data: T): T {
  return copyJson(data) as T;
}

function copyJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) items[i] = copyJson(value[i]);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Record<string, unknown>)[key]);
    // Assigning "__proto__" would set the prototype; JSON.parse keeps it as a plain key.
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = item;
  }
  return out;
}
