import { MAX_TIMER_MS } from "./constants.ts";
import { deadlineQueue } from "./queue.ts";

/**
 * Called for each due key in deadline order; a promise it returns is awaited. It must neither
 * throw nor reject.
 */
export type DueHandler = (key: string, deadline: number, now: number) => Promise<void> | undefined;

/**
 * Keeps every deadline in one priority queue and one timer armed for the nearest. A late wake-up
 * (sleep, a throttled tab) handles everything that came due, in deadline order.
 */
export interface Scheduler {
  /** Sets (or moves) the deadline of `key`. */
  schedule(key: string, at: number): void;
  /** The queued deadline of `key`, if any. */
  get(key: string): number | undefined;
  cancel(key: string): void;
  clear(): void;
  /** Handles at once whatever the clock says is due: for wake-ups, when timers may be late. */
  recheck(): void;
  stop(): void;
}

// A burst of due deadlines is handled in slices of about this many ms, yielding in between
// (a slice can run longer when V8 resizes a big Map in it: ~10 ms at 100k entries).
const SLICE_MS = 4;

/** A new `Scheduler` that calls `onDue` for each deadline that comes due. */
export function createScheduler(onDue: DueHandler): Scheduler {
  const queue = deadlineQueue();
  const { current } = queue;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedFor = Number.POSITIVE_INFINITY;
  let draining = false;
  let stopped = false;

  const disarm = (): void => {
    clearTimeout(timer);
    timer = undefined;
    armedFor = Number.POSITIVE_INFINITY;
  };
  const arm = (): void => {
    disarm();
    if (stopped || current.size === 0) return;
    armedFor = queue.peek();
    timer = setTimeout(fire, Math.min(Math.max(armedFor - Date.now(), 0), MAX_TIMER_MS));
    // A pending deadline must never keep a Node process alive. (Inline, not timers.ts's unref:
    // the scheduler is in every bundle, and this is the smaller.)
    (timer as { unref?: () => void }).unref?.();
  };
  const drain = async (): Promise<void> => {
    const start = performance.now();
    let handled = 0;
    const now = Date.now();
    while (!stopped && queue.peek() <= now) {
      const deadline = queue.peek();
      const key = queue.first() as string;
      // The handler moves the key's deadline (a warning, then the expiry) or cancels it; only
      // if it did neither is the key done with. Moving in place, rather than popping and
      // queueing again, spares the big Map a delete and an insert, each of which may resize it.
      const pending = onDue(key, deadline, now);
      if (pending) await pending;
      if (current.get(key) === deadline) current.delete(key);
      // Yield to the event loop between slices so a burst never blocks input or I/O: with
      // setImmediate where there is one (Node), since a setTimeout of 0 waits at least 1 ms
      // there; with setTimeout elsewhere.
      if (++handled % 64 === 0 && performance.now() - start > SLICE_MS) {
        const { setImmediate } = globalThis as { setImmediate?: (fn: () => void) => unknown };
        await new Promise((resolve) => (setImmediate ?? setTimeout)(resolve as () => void));
        return drain();
      }
    }
  };
  function fire(): void {
    disarm();
    draining = true;
    drain().finally(() => {
      draining = false;
      arm();
    });
  }

  return {
    schedule(key, at) {
      queue.set(key, at);
      // Re-arm only when this deadline is earlier than the armed one: a later one is found when
      // the armed timer fires, so adding sessions costs no timer calls.
      if (at < armedFor && !draining) arm();
    },
    get: (key) => current.get(key),
    cancel: (key) => {
      current.delete(key);
    },
    clear: queue.clear,
    recheck() {
      if (!draining && !stopped) fire();
    },
    stop() {
      stopped = true;
      queue.clear();
      disarm();
    },
  };
}
