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
export interface DeadlineQueue {
  /** The deadline of every queued key: read it, delete from it, clear it; `set` moves one. */
  readonly current: Map<string, number>;
  /** Sets (or moves) the deadline of `key`. */
  set(key: string, deadline: number): void;
  /** The earliest deadline, or `Infinity` when empty. */
  peek(): number;
  /** The key with the earliest deadline (it stays queued), or `undefined` when empty. */
  first(): string | undefined;
  clear(): void;
}

/** A new, empty `DeadlineQueue`. (A closure, not a class: its internals minify to nothing.) */
export function deadlineQueue(): DeadlineQueue {
  let at: number[] = [];
  let keys: string[] = [];
  const current = new Map<string, number>();

  /** Places `key` at `deadline` in the hole at `i`, moving smaller children up. */
  const sink = (i: number, key: string, deadline: number): void => {
    const n = keys.length;
    for (let child = 2 * i + 1; child < n; i = child, child = 2 * i + 1) {
      if (child + 1 < n && (at[child + 1] as number) < (at[child] as number)) child++;
      if ((at[child] as number) >= deadline) break;
      at[i] = at[child] as number;
      keys[i] = keys[child] as string;
    }
    at[i] = deadline;
    keys[i] = key;
  };

  const push = (key: string, deadline: number): void => {
    let i = keys.length;
    for (
      let parent = (i - 1) >> 1;
      i > 0 && (at[parent] as number) > deadline;
      parent = (i - 1) >> 1
    ) {
      at[i] = at[parent] as number;
      keys[i] = keys[parent] as string;
      i = parent;
    }
    at[i] = deadline;
    keys[i] = key;
  };

  /** Brings the top entry in line with the `Map`, until the top is a key's current deadline. */
  const settle = (): void => {
    for (let key = keys[0]; key !== undefined; key = keys[0]) {
      const top = at[0] as number;
      const deadline = current.get(key);
      if (deadline === top) return;
      // Remove the top: the last entry fills the hole.
      const lastAt = at.pop() as number;
      const lastKey = keys.pop() as string;
      if (keys.length > 0) sink(0, lastKey, lastAt);
      if (deadline !== undefined && deadline > top) push(key, deadline);
    }
  };

  return {
    current,
    set(key, deadline) {
      const old = current.get(key);
      if (old === deadline) return;
      current.set(key, deadline);
      if (old !== undefined && deadline > old) return; // its earlier entry stands in for it
      if (keys.length > 2 * current.size + 64) {
        // One entry per live key, heapified bottom-up (Floyd): O(n), no sort.
        keys = [...current.keys()];
        at = [...current.values()];
        for (let i = (keys.length >> 1) - 1; i >= 0; i--)
          sink(i, keys[i] as string, at[i] as number);
      } else push(key, deadline);
    },
    peek() {
      settle();
      return keys.length > 0 ? (at[0] as number) : Number.POSITIVE_INFINITY;
    },
    first() {
      settle();
      return keys[0];
    },
    clear() {
      at = [];
      keys = [];
      current.clear();
    },
  };
}
