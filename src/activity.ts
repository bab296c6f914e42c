// `trackActivity`'s options, checked when it is called (a mistake throws there); the listening
// itself loads on the first call (src/activity-tracker.ts), so that a manager that never tracks
// activity (in Node, say) does not carry it.
import type { ActivityHost } from "./activity-tracker.ts";
import { parseDuration } from "./duration.ts";
import type { ActivityOptions, ActivityTarget } from "./options.ts";
import { checkId } from "./session.ts";

export type { ActivityHost } from "./activity-tracker.ts";

/**
 * Checks the options, then listens for user activity on `options.target` and extends session
 * `id` at most once per throttle window; returns the function that stops. See
 * `SessionManager.trackActivity`.
 */
export function trackActivity(
  id: string,
  options: ActivityOptions | undefined,
  host: ActivityHost,
): () => void {
  checkId(id);
  const { throttle, events } = options ?? {};
  const fixed = throttle === undefined ? throttle : parseDuration(throttle, "throttle");
  if (events && (!Array.isArray(events) || events.some((e) => typeof e !== "string" || !e))) {
    throw new TypeError(`events must be an array of event names, got ${String(events)}`);
  }
  const target = options?.target ?? (globalThis as { document?: ActivityTarget }).document;
  if (typeof target?.addEventListener !== "function") {
    if (options?.target === undefined) return () => {}; // Node, a worker, server rendering
    throw new TypeError(`target must be an EventTarget, got ${String(target)}`);
  }
  let stop: (() => void) | undefined;
  let stopped = false;
  import("./activity-tracker.ts").then(({ listen }) => {
    if (!stopped) stop = listen(id, fixed, events, target, host);
  }, host.report);
  return () => {
    stopped = true;
    stop?.();
  };
}
