// Expiry: every session's next deadline in one scheduler, each expiry warned about once and
// always before `expired`, and the expired record swept from the store (by one tab at a time).
import { isThenable, settle } from "./awaitable.ts";
import { shortId } from "./log.ts";
import type { Parts } from "./open.ts";
import { createScheduler } from "./scheduler.ts";
import type { SessionRecord } from "./types.ts";
import { onWake } from "./wake.ts";

// How long the sweep waits before it retries a session whose store call failed.
const RETRY_MS = 5000;
// How long a tab waits before it sweeps a session whose lock another tab held.
const SWEEP_RETRY_MS = 1000;
// How many deadlines of sessions found gone are kept for the `expired` message that follows.
const OWED_MAX = 1024;

/** The deadlines of a manager's sessions, and what happens when one comes due. */
export interface Expiry {
  /** Queues the next deadline of a session: its warning, or its expiry if warnings are off. */
  schedule(session: SessionRecord): void;
  /** Forgets the deadlines of a session that ended. */
  cancel(id: string): void;
  /** Moves the deadline of `from` to `session` (rotated to a new id): warned once, as it was. */
  move(from: string, session: SessionRecord): void;
  /** Forgets every deadline (after `clear`). */
  clear(): void;
  stop(): void;
  /**
   * Fires `expired` for a session already gone from the store, warning first if still due; once
   * per version of a session, whoever deleted it (this tab, another one, the server). `tellTabs`
   * is false for an expiry another tab told us of.
   */
  expire(session: SessionRecord, now: number, tellTabs?: boolean): void;
}

/** The expiry of the sessions in `parts`, warning `warnBefore` ms ahead. */
export function createExpiry(parts: Parts, warnBefore: number): Expiry {
  const { emitter: events } = parts;
  const scheduler = createScheduler((id, deadline, now) => {
    // The store failed (it is down, say): report it and try this session again later.
    const retry = (error: unknown) => {
      parts.fail(error);
      scheduler.schedule(id, Date.now() + RETRY_MS);
    };
    try {
      const pending = due(id, deadline, now);
      return isThenable(pending) ? Promise.resolve(pending).then(undefined, retry) : undefined;
    } catch (error) {
      retry(error);
    }
  });
  const stopWaking = onWake(() => scheduler.recheck());
  // Deadlines that came due for sessions already gone from the store: another tab swept them
  // and its `expired` message is on its way. The warning owed here is kept until it arrives (or
  // the session is removed, or more than OWED_MAX others pile up: oldest forgotten first).
  const owed = new Map<string, number>();
  const owe = (id: string, deadline: number): void => {
    owed.delete(id);
    owed.set(id, deadline);
    if (owed.size > OWED_MAX) owed.delete(owed.keys().next().value as string);
  };
  const cancel = (id: string): void => {
    owed.delete(id);
    scheduler.cancel(id);
  };

  const schedule = (session: SessionRecord): void => {
    owed.delete(session.id);
    scheduler.schedule(session.id, session.expiresAt - warnBefore);
  };

  /** Fires `expiringSoon` for an expiry whose warning is still queued (`deadline` before it). */
  const warnOwed = (session: SessionRecord, deadline: number | undefined, now: number): void => {
    if (warnBefore > 0 && deadline !== undefined && deadline < session.expiresAt) {
      events.emit("expiringSoon", session, Math.max(0, session.expiresAt - now));
    }
  };

  const expire = (
    session: SessionRecord,
    now: number,
    tellTabs = true,
    deadline: number | undefined = scheduler.get(session.id) ?? owed.get(session.id),
  ): void => {
    const { tabCache: cache } = parts;
    cancel(session.id);
    // Another tab's `expired` came first, and this tab's storage still held the session.
    if (cache?.ended(session)) return;
    cache?.remember(session, true);
    warnOwed(session, deadline, now);
    parts.logs.debug?.(`expired ${shortId(session.id)}`);
    events.emit("expired", session);
    if (tellTabs) parts.tabs?.post("expired", [session]);
  };

  /**
   * A deadline came due. The queued deadline is below `expiresAt` until the warning for this
   * expiry has fired, and equal to it after; so each expiry is warned about once, always before
   * `expired`, however late the timer woke up.
   */
  function due(id: string, deadline: number, now: number): unknown {
    const { vault: store, tabs } = parts;
    // `settle` stays synchronous with a synchronous store: a burst of 100k expiries then makes
    // no promise per session, which keeps garbage collection out of the drain's slices.
    return settle(store.get(id), (session) => {
      // Gone: removed, or expired and deleted by another tab, whose message says so and is
      // owed the warning if this one has not fired yet (or it cannot be decrypted, reported).
      if (!session) return owe(id, deadline);
      const { expiresAt } = session;
      if (now >= expiresAt) {
        const remove = () => store.delete(id, { ifVersion: session.version });
        // Only one tab sweeps at a time; the others hear its `expired` message. A busy lock is
        // tried again shortly, in case the tab holding it is about to be frozen.
        const deleting = tabs?.sweep ? tabs.sweep(remove) : remove();
        // Where another tab does the deleting, its message fires `expired` here; the warning
        // this tab still owes (its timer woke late: a throttled background tab) fires now.
        // While this tab waited (for the lock, or to read again), another tab's `expired` may
        // have come (it warned and fired here, and cancelled this deadline) or a newer version
        // moved it: then that decided, and warning now would warn after `expired`.
        const decided = () => scheduler.get(id) !== deadline;
        return settle(deleting, (deleted) => {
          if (deleted) return expire(session, now, true, deadline);
          if (decided()) return;
          if (deleted === undefined) {
            warnOwed(session, deadline, now);
            return scheduler.schedule(id, Date.now() + SWEEP_RETRY_MS);
          }
          // Another writer came between our read and delete: follow a newer version; if it is
          // gone, another tab deleted it at expiry.
          return settle(store.get(id), (fresh) => {
            if (decided()) return;
            return fresh ? schedule(fresh) : warnOwed(session, deadline, now);
          });
        });
      }
      if (deadline < expiresAt && now >= expiresAt - warnBefore) {
        scheduler.schedule(id, expiresAt);
        // Warned here as when owed: `now` is before `expiresAt`, so `msLeft` is `expiresAt - now`.
        warnOwed(session, deadline, now);
      } else {
        // Changed by another writer since it was queued: follow its new expiry.
        schedule(session);
      }
    });
  }

  return {
    schedule,
    cancel,
    move(from, session) {
      const deadline = scheduler.get(from);
      cancel(from);
      if (deadline === undefined) schedule(session);
      else scheduler.schedule(session.id, deadline);
    },
    clear() {
      owed.clear();
      scheduler.clear();
    },
    stop() {
      owed.clear();
      scheduler.stop();
      stopWaking();
    },
    expire,
  };
}
