// React hooks over a manager's sessions: each reads one framework-neutral source
// (src/bindings/sources.ts) through `useSyncExternalStore`, so a component re-renders only when
// what its hook returns changes, never tears, and renders the "nothing loaded" value on the
// server and while hydrating (no storage is read there). Only types come from the manager's
// modules: this entry adds the hooks to a page, not a second copy of the manager.
import { useEffect, useInsertionEffect, useRef, useSyncExternalStore } from "react";
import type { ManagerLike, Source, TimeLeftOptions } from "../bindings/sources.ts";
import * as sources from "../bindings/sources.ts";
import type { SessionManagerStatus } from "../options.ts";
import type { Session } from "../types.ts";

export type { ManagerLike, TimeLeftOptions } from "../bindings/sources.ts";

// For an id that is not there yet (`null` or `undefined`): always undefined, nothing to hear.
const NONE: Source<undefined> = { get: () => undefined, subscribe: () => () => {} };

/** Reads `source`; `initial` on the server and while hydrating. */
function useSource<T>(source: Source<T>, initial: T): T {
  return useSyncExternalStore(source.subscribe, source.get, () => initial);
}

/**
 * The live session `id` of `manager`, or `undefined` while it loads, when there is none, and on
 * the server. Re-renders when this session is added, touched, updated, rotated away, removed or
 * expires, and for no other session. `id` may be `null` or `undefined` (no session yet).
 * @example
 * function Greeting({ id }: { id: string }) {
 *   const session = useSession(sm, id);
 *   return session ? <p>Hello {session.data.name}</p> : <SignIn />;
 * }
 */
export function useSession<Data>(
  manager: ManagerLike<Data>,
  id: string | null | undefined,
): Session<Data> | undefined {
  return useSource(id == null ? NONE : sources.sessionSource(manager, id), undefined);
}

/**
 * Every live session of `manager`: one frozen array, replaced when any session changes (empty
 * while loading and on the server).
 * @example
 * const sessions = useSessions(sm);
 * return <ul>{sessions.map((s) => <li key={s.id}>{s.id}</li>)}</ul>;
 */
export function useSessions<Data>(manager: ManagerLike<Data>): readonly Session<Data>[] {
  return useSource(sources.sessionsSource(manager), sources.NO_SESSIONS);
}

/**
 * The ms left before session `id` expires, rounded up to `interval` (default every second), or
 * `undefined` while there is no live session (and on the server). Only the component that uses
 * it re-renders as it counts down; a touch or update of the session moves it at once.
 * @example
 * const left = useTimeLeft(sm, id);
 * return left === undefined ? null : <span>{Math.ceil(left / 1000)} s</span>;
 */
export function useTimeLeft<Data>(
  manager: ManagerLike<Data>,
  id: string | null | undefined,
  options: TimeLeftOptions = {},
): number | undefined {
  const source = id == null ? NONE : sources.timeLeftSource(manager, id, options.interval);
  return useSource(source, undefined);
}

/**
 * Calls `listener(session, msLeft)` when a session of `manager` is about to expire (the
 * manager's `expiringSoon`, `warnBefore` ahead), while the component is mounted. The latest
 * `listener` is called: passing a new function each render does not subscribe again.
 * @example
 * useExpiringSoon(sm, (session, msLeft) => {
 *   if (session.id === id) setAsk(Math.round(msLeft / 1000));
 * });
 */
export function useExpiringSoon<Data>(
  manager: ManagerLike<Data>,
  listener: (session: Session<Data>, msLeft: number) => void,
): void {
  const latest = useRef(listener);
  // Before any effect of this commit can run (and without the server warning of a layout effect).
  useInsertionEffect(() => {
    latest.current = listener;
  });
  useEffect(
    () => manager.on("expiringSoon", (session, msLeft) => latest.current(session, msLeft)),
    [manager],
  );
}

/**
 * The manager's status: `"loading"` until its stored sessions are read (and on the server),
 * then `"ready"`, or `"degraded"` when a browser store could not be used and sessions are kept
 * in memory.
 * @example
 * if (useManagerStatus(sm) === "loading") return <Spinner />;
 */
export function useManagerStatus(manager: ManagerLike): SessionManagerStatus {
  return useSource(sources.statusSource(manager), "loading");
}
