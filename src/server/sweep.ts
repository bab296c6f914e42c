import { MAX_TIMER_MS } from "../constants.ts";
import { messageOf } from "../errors.ts";
import type { LogFns } from "../log.ts";
import type { SessionStore } from "../stores/types.ts";
import { unref } from "../timers.ts";

/**
 * Deletes expired records from the store every `intervalMs` (one timer for every owner, unref'd
 * so it never keeps a process alive; `0` starts none). Returns a function that stops it
 * and waits for a sweep under way. A sweep that fails is logged and tried again next time.
 */
export function startSweep(
  store: Promise<SessionStore>,
  intervalMs: number,
  log: LogFns,
): () => Promise<void> {
  if (intervalMs === 0) return async () => {};
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const removed = await (await store).purgeExpired(Date.now());
      if (removed.length > 0) log.debug?.(`swept ${removed.length} expired sessions`);
    } catch (error) {
      log.warn?.(`sweep failed: ${messageOf(error)}`);
    }
  };
  const timer = unref(
    setInterval(
      () => {
        // A slow store may take longer than the interval: never two sweeps at once.
        running ??= sweep().finally(() => {
          running = undefined;
        });
      },
      Math.min(intervalMs, MAX_TIMER_MS),
    ),
  );
  return async () => {
    clearInterval(timer);
    await running;
  };
}
