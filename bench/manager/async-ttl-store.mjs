// The async TTL baseline: the smallest correct async TTL store, one Map of { value, expiresAt }.

export class AsyncTtlStore {
  #map = new Map();

  async set(key, value, ttl) {
    this.#map.set(key, { value, expiresAt: Date.now() + ttl });
  }

  async get(key) {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Extends a live entry to `ttl` from now; false if it is missing or expired. */
  async touch(key, ttl) {
    const entry = this.#map.get(key);
    if (entry === undefined || entry.expiresAt <= Date.now()) return false;
    entry.expiresAt = Date.now() + ttl;
    return true;
  }

  async delete(key) {
    return this.#map.delete(key);
  }

  get size() {
    return this.#map.size;
  }
}
