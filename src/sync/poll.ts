// The sync's one timer: every `pullInterval`, and whenever the page wakes.
import { MAX_TIMER_MS } from "../constants.ts";
import { unref } from "../timers.ts";
import { onWake } from "../wake.ts";

// setInterval fires at once, again and again, for a delay above 2^31-1 ms (about 24.8 days).

/**
 * Calls `fn` every `ms` and when the page may have slept (it is shown again, focused, back
 * online: see `onWake`); the interval never keeps a process alive. Returns the function that
 * stops both. @internal
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
