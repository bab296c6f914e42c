/**
 * Vue composables of a manager's sessions: {@link useSession}, {@link useSessions},
 * {@link useTimeLeft}, {@link useExpiringSoon} and {@link useManagerStatus}, the names of the
 * React hooks, returning readonly refs released with their effect scope. Vue 3.3 or later;
 * server rendering reads no storage and hydration matches.
 * @packageDocumentation
 */
// Vue composables over the framework-neutral sources (src/bindings/sources.ts): each returns a
// readonly ref that follows one source, and lets go of it when its effect scope ends (a
// component unmounted, an `effectScope()` stopped).
//
// Inside a component they subscribe once it is mounted, not during `setup`: Vue never mounts
// on the server, so server rendering subscribes to nothing and reads no storage, and the
// client's first render (hydration) shows the same initial values the server rendered. The
// value arrives before the browser paints (mounted hooks run in the same task as the mount).
// Outside a component (a bare `effectScope()`, a store's setup) they subscribe at once.
import {
  computed,
  getCurrentInstance,
  getCurrentScope,
  type MaybeRefOrGetter,
  onMounted,
  onScopeDispose,
  type Ref,
  shallowRef,
  toValue,
  watch,
} from "vue";
import {
  checkInterval,
  type ManagerLike,
  NO_SESSIONS,
  type Source,
  sessionSource,
  sessionsSource,
  statusSource,
  type TimeLeftOptions,
  timeLeftSource,
} from "../bindings/sources.ts";
import type { SessionManagerStatus } from "../options.ts";
import type { Session } from "../types.ts";

export type { ManagerLike, TimeLeftOptions } from "../bindings/sources.ts";

/** Runs `start` when the component is mounted, or now outside a component (or once mounted). */
function whenLive(start: () => void): void {
  const instance = getCurrentInstance();
  if (instance && !instance.isMounted) onMounted(start);
  else start();
}

/** Runs `stop` when the current effect scope ends; without a scope, nothing ever stops. */
function onEnd(stop: () => void): void {
  if (getCurrentScope()) onScopeDispose(stop);
}

/**
 * A readonly ref of the source `open(key())` gives (`initial` while none, or before mounting),
 * switching source when `key()` changes.
 */
function follow<K, T>(key: () => K, open: (key: K) => Source<T> | undefined, initial: T) {
  const value = shallowRef(initial);
  let leave: (() => void) | undefined;
  let unwatch: (() => void) | undefined;
  let ended = false;
  const listen = (source: Source<T> | undefined) => {
    leave?.();
    leave = undefined;
    if (!source) {
      value.value = initial;
      return;
    }
    const read = () => {
      value.value = source.get();
    };
    leave = source.subscribe(read);
    read();
  };
  whenLive(() => {
    if (!ended) unwatch = watch(key, (current) => listen(open(current)), { immediate: true });
  });
  onEnd(() => {
    ended = true;
    unwatch?.();
    leave?.(); // the ref keeps its last value, and changes no more
    leave = undefined;
  });
  // A computed without a setter: callers read it, and a write fails (with a warning in dev).
  return computed(() => value.value);
}

/** The id's current value, checked: a string, or `undefined` for none (`null` or `undefined`). */
function idOf(id: MaybeRefOrGetter<string | null | undefined>): () => string | undefined {
  return () => {
    const value = toValue(id);
    if (value == null) return undefined;
    if (typeof value === "string") return value;
    throw new TypeError(`id must be a string, null or undefined, got ${typeof value}`);
  };
}

/**
 * The live session `id` of `manager` as a readonly ref: `undefined` until it is loaded, and
 * when there is none (absent, expired, removed, or `id` is `null` or `undefined`). `id` may be a
 * ref or a getter: when it changes, the ref follows the new id. Released with the calling effect
 * scope.
 * @example
 * const session = useSession(sm, () => props.userId);
 */
export function useSession<Data>(
  manager: ManagerLike<Data>,
  id: MaybeRefOrGetter<string | null | undefined>,
): Readonly<Ref<Session<Data> | undefined>> {
  return follow(
    idOf(id),
    (current) => (current === undefined ? undefined : sessionSource(manager, current)),
    undefined,
  );
}

/**
 * Every live session of `manager` as a readonly ref of a frozen array, replaced on each change
 * (empty until loaded). Released with the calling effect scope.
 * @example
 * const sessions = useSessions(sm); // sessions.value.length
 */
export function useSessions<Data>(
  manager: ManagerLike<Data>,
): Readonly<Ref<readonly Session<Data>[]>> {
  return follow(
    () => manager,
    (current) => sessionsSource(current),
    NO_SESSIONS as readonly Session<Data>[],
  );
}

/**
 * The ms left before session `id` expires as a readonly ref, `undefined` while there is no live
 * session. It changes every `interval` ms (default 1000, on the interval's boundaries: a
 * countdown shown in seconds turns when the second does) and at once when the session is
 * touched, updated or ends. Released with the calling effect scope.
 * @example
 * const left = useTimeLeft(sm, "user123"); // Math.ceil((left.value ?? 0) / 1000) + " s"
 */
export function useTimeLeft<Data>(
  manager: ManagerLike<Data>,
  id: MaybeRefOrGetter<string | null | undefined>,
  options: TimeLeftOptions = {},
): Readonly<Ref<number | undefined>> {
  const interval = options.interval ?? 1000;
  checkInterval(interval); // now, not when the first id arrives (maybe never, or after mount)
  return follow(
    idOf(id),
    (current) => (current === undefined ? undefined : timeLeftSource(manager, current, interval)),
    undefined,
  );
}

/**
 * Calls `listener(session, msLeft)` when a session of `manager` is about to expire (the
 * manager's `expiringSoon`), until the calling effect scope ends.
 * @example
 * useExpiringSoon(sm, (session, msLeft) => { dialog.value = { id: session.id, msLeft }; });
 */
export function useExpiringSoon<Data>(
  manager: ManagerLike<Data>,
  listener: (session: Session<Data>, msLeft: number) => void,
): void {
  if (typeof listener !== "function")
    throw new TypeError(`listener must be a function, got ${typeof listener}`);
  let off: (() => void) | undefined;
  let ended = false;
  whenLive(() => {
    if (!ended) off = manager.on("expiringSoon", listener);
  });
  onEnd(() => {
    ended = true;
    off?.();
  });
}

/**
 * The manager's `status` as a readonly ref: `"loading"`, then `"ready"` (or `"degraded"`).
 * Released with the calling effect scope.
 * @example
 * const status = useManagerStatus(sm); // v-if="status === 'ready'"
 */
export function useManagerStatus(manager: ManagerLike): Readonly<Ref<SessionManagerStatus>> {
  return follow(
    () => manager,
    (current) => statusSource(current),
    "loading" as SessionManagerStatus,
  );
}
