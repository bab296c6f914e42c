/**
 * A min-priority queue of deadlines keyed by session id. A binary heap in two parallel arrays
 * (a million sessions cost two array slots and one `Map` entry each, no object each), with lazy
 * deletion: moving or deleting a key only updates the `Map`, and heap entries that no longer
 * match it are skipped when they surface. When stale entries outnumber live ones the heap is
 * rebuilt, so every operation stays O(log n) amortised.
 */
export class DeadlineQueue {
  private at: number[] = [];
  private keys: string[] = [];
  private current = new Map<string, number>();

  get size(): number {
    return this.current.size;
  }

  get(key: string): number | undefined {
    return this.current.get(key);
  }

  /** The earliest deadline, or `Infinity` when empty. */
  peek(): number {
    this.prune();
    return this.keys.length > 0 ? (this.at[0] as number) : Number.POSITIVE_INFINITY;
  }

  /** Sets (or moves) the deadline of `key`. */
  set(key: string, deadline: number): void {
    if (this.current.get(key) === deadline) return;
    this.current.set(key, deadline);
    if (this.keys.length > 2 * this.current.size + 64) this.rebuild();
    else this.push(key, deadline);
  }

  delete(key: string): boolean {
    return this.current.delete(key);
  }

  /** The key with the earliest deadline (it stays queued), or `undefined` when empty. */
  first(): string | undefined {
    this.prune();
    return this.keys[0];
  }

  clear(): void {
    this.at = [];
    this.keys = [];
    this.current.clear();
  }

  /** Drops stale entries from the top until the top is live. */
  private prune(): void {
    for (let key = this.keys[0]; key !== undefined; key = this.keys[0]) {
      if (this.current.get(key) === this.at[0]) return;
      this.removeTop();
    }
  }

  private push(key: string, deadline: number): void {
    const { at, keys } = this;
    let i = keys.length;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((at[parent] as number) <= deadline) break;
      at[i] = at[parent] as number;
      keys[i] = keys[parent] as string;
      i = parent;
    }
    at[i] = deadline;
    keys[i] = key;
  }

  private removeTop(): void {
    const { at, keys } = this;
    const deadline = at.pop() as number;
    const key = keys.pop() as string;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (at[child + 1] as number) < (at[child] as number)) child++;
      if ((at[child] as number) >= deadline) break;
      at[i] = at[child] as number;
      keys[i] = keys[child] as string;
      i = child;
    }
    at[i] = deadline;
    keys[i] = key;
  }

  /** A sorted array is a valid heap: rebuilding from the live entries drops every stale one. */
  private rebuild(): void {
    const live = [...this.current].sort((a, b) => a[1] - b[1]);
    this.keys = live.map((entry) => entry[0]);
    this.at = live.map((entry) => entry[1]);
  }
}
