// Listeners of owners' change logs in one process: what a store's `watch` hands out, whatever
// brings it the entries (its own writes, Redis pub/sub, PostgreSQL LISTEN).
import type { ChangeEntry, ResyncSignal } from "../types.ts";

/** A `watch` listener. */
export type WatchListener = (entry: ChangeEntry | ResyncSignal) => void;

const RESYNC: ResyncSignal = Object.freeze({ resync: true });

/**
 * The listeners of each owner in one process. `emit` calls the owner's listeners in the order
 * they came; one that throws is reported and the others still hear the entry.
 * @example
 * const fanout = new Fanout((error) => context.report(error));
 * const stop = fanout.watch("alice", (entry) => send(entry));
 * fanout.emit("alice", entry);
 */
export class Fanout {
  private readonly owners = new Map<string, Set<WatchListener>>();

  constructor(private readonly report: (error: Error) => void = () => {}) {}

  /** Calls `listener` with each entry emitted for `owner` until the function returned is called. */
  watch(owner: string, listener: WatchListener): () => void {
    let listeners = this.owners.get(owner);
    if (!listeners) {
      listeners = new Set();
      this.owners.set(owner, listeners);
    }
    // A wrapper per call: the same function watched twice is two listeners, stopped apart.
    const own: WatchListener = (entry) => listener(entry);
    listeners.add(own);
    return () => {
      const set = this.owners.get(owner);
      if (!set?.delete(own) || set.size > 0) return;
      this.owners.delete(owner);
    };
  }

  /** Calls the owner's listeners with `entry`. */
  emit(owner: string, entry: ChangeEntry): void {
    this.call(this.owners.get(owner), entry);
  }

  /** Tells every listener (or the owner's) that entries may have been missed. */
  resync(owner?: string): void {
    const all = owner === undefined ? [...this.owners.values()] : [this.owners.get(owner)];
    for (const listeners of all) this.call(listeners, RESYNC);
  }

  /** Whether anyone listens to `owner` (a channel may skip what nobody hears). */
  has(owner: string): boolean {
    return this.owners.has(owner);
  }

  /** How many owners have listeners. */
  get size(): number {
    return this.owners.size;
  }

  private call(listeners: Set<WatchListener> | undefined, entry: ChangeEntry | ResyncSignal) {
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(entry);
      } catch (error) {
        this.report(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}
