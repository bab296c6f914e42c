/**
 * A min-priority queue of deadlines keyed by session id: an indexed binary heap kept in two
 * parallel arrays, so a million sessions cost two array slots and one `Map` entry each instead
 * of an object each. Every operation is O(log n); `set` on a queued key moves it.
 */
export class DeadlineQueue {
  private at = new Float64Array(64);
  private keys: string[] = [];
  private slot = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  /** The earliest deadline, or `Infinity` when empty. */
  peek(): number {
    return this.keys.length > 0 ? (this.at[0] as number) : Number.POSITIVE_INFINITY;
  }

  get(key: string): number | undefined {
    const i = this.slot.get(key);
    return i === undefined ? undefined : this.at[i];
  }

  set(key: string, deadline: number): void {
    let i = this.slot.get(key);
    if (i === undefined) {
      i = this.keys.length;
      if (i === this.at.length) this.grow();
      this.keys.push(key);
      this.slot.set(key, i);
    }
    this.at[i] = deadline;
    this.down(this.up(i));
  }

  delete(key: string): boolean {
    const i = this.slot.get(key);
    if (i === undefined) return false;
    this.removeAt(i);
    return true;
  }

  /** Removes and returns the key with the earliest deadline. */
  pop(): string | undefined {
    const key = this.keys[0];
    if (key !== undefined) this.removeAt(0);
    return key;
  }

  clear(): void {
    this.keys = [];
    this.slot.clear();
  }

  private removeAt(i: number): void {
    const key = this.keys[i] as string;
    const last = this.keys.length - 1;
    this.slot.delete(key);
    if (i !== last) {
      this.move(last, i);
      this.keys.pop();
      this.down(this.up(i));
    } else {
      this.keys.pop();
    }
  }

  private up(i: number): number {
    const { at, keys } = this;
    const key = keys[i] as string;
    const deadline = at[i] as number;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((at[parent] as number) <= deadline) break;
      this.move(parent, i);
      i = parent;
    }
    this.place(key, deadline, i);
    return i;
  }

  private down(i: number): void {
    const { at, keys } = this;
    const key = keys[i] as string;
    const deadline = at[i] as number;
    const n = keys.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (at[right] as number) < (at[left] as number) ? right : left;
      if ((at[child] as number) >= deadline) break;
      this.move(child, i);
      i = child;
    }
    this.place(key, deadline, i);
  }

  private move(from: number, to: number): void {
    this.place(this.keys[from] as string, this.at[from] as number, to);
  }

  private place(key: string, deadline: number, i: number): void {
    this.keys[i] = key;
    this.at[i] = deadline;
    this.slot.set(key, i);
  }

  private grow(): void {
    const bigger = new Float64Array(this.at.length * 2);
    bigger.set(this.at);
    this.at = bigger;
  }
}
