import { DeadlineQueue } from "./queue.ts";

/**
 * Called for each due key in deadline order; a promise it returns is awaited. It must neither
 * throw nor reject.
 */
export type DueHandler = (key: string, deadline: number, now: number) => Promise<void> | undefined;

// setTimeout fires at once for delays above 2^31-1 ms (~24.8 days), so longer waits are
// armed in steps of at most this much and re-checked on each wake-up.
const MAX_DELAY = 2 ** 31 - 1;
// A burst of due deadlines is handled in slices of about this many ms, yielding in between
// (a slice can run longer when V8 resizes a big Map in it: ~10 ms at 100k entries).
const SLICE_MS = 4;

// How the drain gives the event loop a turn: setImmediate where there is one (Node), since a
// setTimeout of 0 waits at least 1 ms there; setTimeout elsewhere.
function yieldTo(resolve: (value?: unknown) => void): void {
  const { setImmediate } = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (setImmediate) setImmediate(resolve);
  else setTimeout(resolve, 0);
}

/**
 * Keeps every deadline in one priority queue and one timer armed for the nearest. A late wake-up
 * (sleep, a throttled tab) handles everything that came due, in deadline order.
 */
export class Scheduler {
  private readonly queue = new DeadlineQueue();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private draining = false;
  private stopped = false;

  constructor(private readonly onDue: DueHandler) {}

  /** Sets (or moves) the deadline of `key`. */
  schedule(key: string, at: number): void {
    this.queue.set(key, at);
    // Re-arm only when this deadline is earlier than the armed one: a later one is found when
    // the armed timer fires, so adding sessions costs no timer calls.
    if (at < this.armedFor && !this.draining) this.arm();
  }

  /** The queued deadline of `key`, if any. */
  get(key: string): number | undefined {
    return this.queue.get(key);
  }

  cancel(key: string): void {
    this.queue.delete(key);
  }

  clear(): void {
    this.queue.clear();
  }

  /** Handles at once whatever the clock says is due: for wake-ups, when timers may be late. */
  recheck(): void {
    if (!this.draining && !this.stopped) this.fire();
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    if (this.stopped || this.queue.size === 0) return;
    const next = this.queue.peek();
    this.armedFor = next;
    const delay = Math.min(Math.max(next - Date.now(), 0), MAX_DELAY);
    this.timer = setTimeout(() => this.fire(), delay);
    // A pending deadline must never keep a Node process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.disarm();
    this.draining = true;
    this.drain().finally(() => {
      this.draining = false;
      this.arm();
    });
  }

  private async drain(): Promise<void> {
    const start = performance.now();
    let handled = 0;
    const now = Date.now();
    while (!this.stopped && this.queue.peek() <= now) {
      const deadline = this.queue.peek();
      const key = this.queue.first() as string;
      // The handler moves the key's deadline (a warning, then the expiry) or cancels it; only
      // if it did neither is the key done with. Moving in place, rather than popping and
      // queueing again, spares the big Map a delete and an insert, each of which may resize it.
      const pending = this.onDue(key, deadline, now);
      if (pending) await pending;
      if (this.queue.get(key) === deadline) this.queue.delete(key);
      // Yield to the event loop between slices so a burst never blocks input or I/O.
      if (++handled % 64 === 0 && performance.now() - start > SLICE_MS) {
        await new Promise(yieldTo);
        return this.drain();
      }
    }
  }
}
