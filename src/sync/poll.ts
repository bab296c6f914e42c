// The sync's one timer: every `pullInterval`, and whenever the page wakes.
import { MAX_TIMER_MS } from "../constants.ts";
import { unref } from "../timers.ts";
import { onWake } from "../wake.ts";

/**
 * Calls `fn` every `ms` (capped at `MAX_TIMER_MS`: timers fire at once for longer delays)
 * and when the page may have slept (it is shown again, focused, back online: see `onWake`); the
 * interval never keeps a process alive. Returns the function that stops both. @internal
 * @example
 * const stop = poll(() => void store.pull(), 30_000);
 */
export function poll(fn: () => void, ms: number): () => void {
  const timer = unref(setInterval(fn, Math.min(ms, MAX_TIMER_MS)));
  const stopWaking = onWake(fn);
  return () => {
    clearInterval(timer);
    stopWaking();
  };
}

/**
 * `fn` to call as often as asked: one run at a time, and at most one more after it, for what
 * was asked while it ran. @internal
 */
export function coalesce(fn: () => Promise<unknown>): () => void {
  let running: Promise<unknown> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = fn().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}
