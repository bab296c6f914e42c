/**
 * A min-priority queue of deadlines keyed by session id: a binary heap in two parallel arrays (a
 * million sessions cost two array slots and one `Map` entry each, no object each) beside a `Map`
 * of each key's current deadline, which is the truth. Heap entries are checked against it lazily:
 *
 * - a later deadline (a touch, a warning giving way to the expiry) only updates the `Map`; the
 *   key's earlier entry is moved down when it reaches the top, so touching costs no heap work;
 * - a new key or an earlier deadline adds an entry; entries of deleted keys, and those left
 *   behind by an earlier deadline, are dropped when they reach the top;
 * - when dropped-to-be entries outnumber live keys, the heap is rebuilt in O(n).
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
    this.settle();
    return this.keys.length > 0 ? (this.at[0] as number) : Number.POSITIVE_INFINITY;
  }

  /** The key with the earliest deadline (it stays queued), or `undefined` when empty. */
  first(): string | undefined {
    this.settle();
    return this.keys[0];
  }

  /** Sets (or moves) the deadline of `key`. */
  set(key: string, deadline: number): void {
    const old = this.current.get(key);
    if (old === deadline) return;
    this.current.set(key, deadline);
    if (old !== undefined && deadline > old) return; // its earlier entry stands in for it
    if (this.keys.length > 2 * this.current.size + 64) this.rebuild();
    else this.push(key, deadline);
  }

  delete(key: string): boolean {
    return this.current.delete(key);
  }

  clear(): void {
    this.at = [];
    this.keys = [];
    this.current.clear();
  }

  /** Brings the top entry in line with the `Map`, until the top is a key's current deadline. */
  private settle(): void {
    for (let key = this.keys[0]; key !== undefined; key = this.keys[0]) {
      const at = this.at[0] as number;
      const deadline = this.current.get(key);
      if (deadline === at) return;
      this.removeTop();
      if (deadline !== undefined && deadline > at) this.push(key, deadline);
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
    const deadline = this.at.pop() as number;
    const key = this.keys.pop() as string;
    if (this.keys.length > 0) this.sink(0, key, deadline);
  }

  /** Places `key` at `deadline` in the hole at `i`, moving smaller children up. */
  private sink(i: number, key: string, deadline: number): void {
    const { at, keys } = this;
    const n = keys.length;
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

  /** One entry per live key, heapified bottom-up (Floyd): O(n), no sort. */
  private rebuild(): void {
    this.keys = [...this.current.keys()];
    this.at = [...this.current.values()];
    for (let i = (this.keys.length >> 1) - 1; i >= 0; i--) {
      this.sink(i, this.keys[i] as string, this.at[i] as number);
    }
  }
}
