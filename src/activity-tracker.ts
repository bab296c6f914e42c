// Activity tracking, loaded on the first `trackActivity` call: user input on a page keeps a
// session alive, with at most one write per throttle window across every tab of the namespace.
// Two gates: a local one, on what this manager last heard of the session (its own touches and
// other tabs'), keeps a storm of pointermove events from reaching the store; the one that counts
// is inside the manager's conditional write, so two tabs (or processes) that pass their local
// gates at once make one write between them: the second one re-reads, finds the session
// extended, and writes nothing.
import { isSessionError } from "./errors.ts";
import type { ActivityTarget, SessionEvents } from "./options.ts";
import { touched } from "./session.ts";
import type { SessionRecord } from "./types.ts";

/** What counts as activity when `events` is not given. */
const DEFAULT_EVENTS = [
  "pointerdown",
  "pointermove",
  "keydown",
  "wheel",
  "touchstart",
  "visibilitychange",
];
// The longest default throttle: an active user's session is written at most once a minute.
const MAX_THROTTLE_MS = 60_000;
// Passive (never delays scrolling), and in the capture phase: an app that stops an event's
// propagation still has an active user.
const LISTEN = { passive: true, capture: true } as const;

/** What a tracker needs of its manager. */
export interface ActivityHost {
  /** The manager's `warnBefore`, in ms. */
  readonly warnMs: number;
  /** Subscribes to one of the manager's events. */
  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): () => void;
  /**
   * Writes what `decide` makes of the stored session in one conditional write (a record, or
   * `undefined` to leave it), and publishes a written record as `touched`.
   */
  extend(
    id: string,
    decide: (current: SessionRecord | undefined, now: number) => SessionRecord | undefined,
  ): Promise<unknown>;
  /** Reports a background touch's error on the manager's `error` event. */
  report(error: unknown): void;
}

/**
 * Listens for `events` (checked by the caller; default: pointer, keys, wheel, touch, the page
 * shown) on `target` and extends session `id` by its ttl at most once per throttle window
 * (`fixed` ms, or the default of each session); returns the function that stops.
 */
export function listen(
  id: string,
  fixed: number | undefined,
  events: readonly string[] | undefined,
  target: ActivityTarget,
  host: ActivityHost,
): () => void {
  // Removed as added, whatever the caller does to its array later.
  const types = [...(events ?? DEFAULT_EVENTS)];

  // The throttle of a session: given, or the smaller of a minute and half of `ttl − warnBefore`
  // (half the ttl where the warning comes sooner than that), so that an active user's session
  // never gets within `warnBefore` of its end.
  const throttleOf = (s: SessionRecord): number =>
    fixed ?? Math.min(MAX_THROTTLE_MS, (s.ttl > host.warnMs ? s.ttl - host.warnMs : s.ttl) / 2);
  // The session touched now, if it is live and the touch gains it at least a throttle window,
  // else `undefined`: touched within the window (by any tab), at its `maxAge`, or gone.
  const touch = (s: SessionRecord | null | undefined, now: number): SessionRecord | undefined => {
    if (!s || s.expiresAt <= now) return undefined;
    const next = touched(s, now);
    return next.expiresAt - s.expiresAt >= throttleOf(s) ? next : undefined;
  };

  let current = id;
  // The last copy heard of: `undefined` before the first read, `null` once gone (removed,
  // expired, or never there), until a session with this id is added.
  let last: SessionRecord | null | undefined;
  let busy = false;
  let stopped = false;

  const decide = (stored: SessionRecord | undefined, now: number): SessionRecord | undefined => {
    last = stored ?? null;
    return touch(stored, now);
  };

  const onActivity = (event: Event): void => {
    if (busy || stopped) return;
    // The page becoming visible is activity; becoming hidden is not.
    const { visibilityState } = (event.target ?? {}) as { visibilityState?: string };
    if (event.type === "visibilitychange" && visibilityState === "hidden") return;
    if (last === null || (last && !touch(last, Date.now()))) return;
    busy = true;
    host.extend(current, decide).then(
      () => {
        busy = false;
      },
      (error: unknown) => {
        busy = false;
        // The manager was closed: stop listening rather than report every later keystroke.
        if (isSessionError(error) && error.code === "CLOSED") stop();
        else host.report(error);
      },
    );
  };

  const follow = (session: SessionRecord): void => {
    if (session.id === current) last = session;
  };
  const end = (session: SessionRecord): void => {
    if (session.id === current) last = null;
  };
  const offs = [
    host.on("added", follow),
    host.on("touched", follow),
    host.on("rotated", (session, previousId) => {
      // A rotation moves the session to a new id: activity keeps the new one alive.
      if (previousId === current) current = session.id;
      follow(session);
    }),
    host.on("removed", end),
    host.on("expired", end),
  ];
  for (const type of types) target.addEventListener(type, onActivity, LISTEN);

  function stop(): void {
    if (stopped) return;
    stopped = true;
    for (const off of offs) off();
    for (const type of types) target.removeEventListener(type, onActivity, LISTEN);
  }
  return stop;
}
