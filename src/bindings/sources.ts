// What the React, Vue and Svelte bindings share: a manager's sessions as values a UI framework
// can read synchronously and subscribe to. Each is a `Source`: `get()` returns the same object
// until what it stands for changes, and `subscribe` calls back after each change, which is the
// contract of React's `useSyncExternalStore` and, with a first call added, of a Svelte store.
//
// Nothing touches the manager until the first subscriber arrives (server rendering never
// subscribes, so it reads no storage), and the last one to leave lets go of the manager's events.
// One source per manager and id is shared by every component that asks for it, and one set of
// listeners per manager sends each change only to the sources of its id: a touch of session B
// calls back nobody who watches session A.
import type { SessionManagerStatus } from "../options.ts";
import type { Session } from "../types.ts";

/** Options of the countdown (`useTimeLeft`, `timeLeftStore`). */
export interface TimeLeftOptions {
  /**
   * How often the value changes while the session lives, in ms (default 1000): the ms left,
   * rounded up to a multiple of it, turning on its boundaries.
   */
  readonly interval?: number | undefined;
}

/** A value that changes: read it now, and hear when it changed (`subscribe` returns the undo). */
export interface Source<T> {
  get(): T;
  subscribe(listener: () => void): () => void;
}

/**
 * What the bindings need of a manager: the root entry's and the core entry's `SessionManager`
 * both are one.
 */
export interface ManagerLike<Data = unknown> {
  /** Resolves once stored sessions are loaded; never rejects. */
  readonly ready: Promise<void>;
  /** `"loading"` until stored sessions are read, then `"ready"` (or `"degraded"`). */
  readonly status: SessionManagerStatus;
  /** The live session with this id, or `undefined`. */
  get(id: string): Promise<Session<Data> | undefined>;
  /** Every live session. */
  list(): Promise<Session<Data>[]>;
  /** Listens to a session's start, touch, end or expiry; returns the function that stops. */
  on(
    event: "added" | "touched" | "removed" | "expired",
    fn: (session: Session<Data>) => void,
  ): () => void;
  /** Listens to changes of a session's data; returns the function that stops. */
  on(event: "updated", fn: (session: Session<Data>, previous: Session<Data>) => void): () => void;
  /** Listens to sessions moved to a new id; returns the function that stops. */
  on(event: "rotated", fn: (session: Session<Data>, previousId: string) => void): () => void;
  /** Listens to the warnings `warnBefore` ahead of an expiry; returns the function that stops. */
  on(event: "expiringSoon", fn: (session: Session<Data>, msLeft: number) => void): () => void;
  /** Listens to the store agreeing with the server again; returns the function that stops. */
  on(event: "synced", fn: () => void): () => void;
  /** Listens to a browser store falling back to memory; returns the function that stops. */
  on(event: "degraded", fn: (reason: Error) => void): () => void;
}

/**
 * The sessions one event changed, each id with the session as it is now or `undefined` if it
 * ended: one entry, or two for a rotation (the old id ended, the new one lives).
 */
type Changes<Data> = (changes: readonly (readonly [string, Session<Data> | undefined])[]) => void;

/** The value of `key` in `map`, made by `make` the first time. */
function memo<K, V>(
  map: { get(key: K): V | undefined; set(key: K, value: V): unknown },
  key: K,
  make: () => V,
): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  map.set(key, made);
  return made;
}

/** Per manager: the change listeners that watch its sessions, and how to detach from it. */
const hubs = new WeakMap<object, { watchers: Set<Changes<never>>; offs: (() => void)[] }>();

/**
 * Calls `watcher` with each change of `manager`'s sessions until the function it returns is
 * called. One set of the manager's listeners serves every watcher: attached with the first,
 * removed after the last.
 */
function watch<Data>(manager: ManagerLike<Data>, watcher: Changes<Data>): () => void {
  const hub = memo(hubs, manager, () => ({ watchers: new Set<Changes<never>>(), offs: [] }));
  const watchers = hub.watchers as Set<Changes<Data>>;
  if (!watchers.size) {
    const tell = (...changes: (readonly [string, Session<Data> | undefined])[]) => {
      for (const watcher of [...watchers]) watcher(changes);
    };
    const live = (session: Session<Data>) => tell([session.id, session]);
    const ended = (session: Session<Data>) => tell([session.id, undefined]);
    hub.offs = [
      manager.on("added", live),
      manager.on("touched", live),
      manager.on("updated", live),
      manager.on("removed", ended),
      manager.on("expired", ended),
      manager.on("rotated", (session, previousId) =>
        tell([previousId, undefined], [session.id, session]),
      ),
    ];
  }
  watchers.add(watcher);
  return () => {
    if (!watchers.delete(watcher) || watchers.size) return;
    for (const off of hub.offs) off();
  };
}

/** Per manager: the shared sources, by kind and id. */
const cache = new WeakMap<object, Map<string, Source<unknown>>>();

/**
 * The source `key` of `manager`: made the first time, and kept while someone listens (and for
 * the rest of the task it is made in). `start` runs when the first listener arrives and returns what
 * to do after the last one left; `set` in between changes the value and tells the listeners.
 * Let go after its last listener, so that ids a page showed once do not pile up: one still
 * held by a component joins the cache again when it is subscribed to again.
 */
function shared<T>(
  manager: object,
  key: string,
  initial: T,
  start: (set: (value: T) => void) => () => void,
): Source<T> {
  const sources = memo(cache, manager, () => new Map<string, Source<unknown>>());
  const found = sources.get(key) as Source<T> | undefined;
  if (found) return found;
  let value = initial;
  let stop: (() => void) | undefined;
  const listeners = new Set<() => void>();
  const set = (next: T) => {
    if (Object.is(next, value)) return;
    value = next;
    for (const listener of [...listeners]) listener();
  };
  const source: Source<T> = {
    get: () => value,
    subscribe(listener) {
      // A Set keeps one entry per function: wrap it so two subscriptions of one function count twice.
      const entry = () => listener();
      listeners.add(entry);
      if (listeners.size === 1) {
        if (!sources.has(key)) sources.set(key, source as Source<unknown>);
        stop = start(set);
      }
      return () => {
        if (!listeners.delete(entry) || listeners.size) return;
        stop?.();
        if (sources.get(key) === source) sources.delete(key);
      };
    },
  };
  sources.set(key, source as Source<unknown>);
  // Made and never subscribed to (server rendering asks for sources and never subscribes): let
  // go once this task is over, so that a long-lived server manager does not keep one per id
  // ever rendered. Everyone who asks within the task shares it; a subscriber puts it back.
  Promise.resolve().then(() => {
    if (!listeners.size && sources.get(key) === source) sources.delete(key);
  });
  return source;
}

/**
 * The live session `id` of `manager`, or `undefined` (not loaded yet, absent, expired, removed).
 * Shared by everyone who asks for the same manager and id.
 */
export function sessionSource<Data>(
  manager: ManagerLike<Data>,
  id: string,
): Source<Session<Data> | undefined> {
  if (typeof id !== "string") throw new TypeError(`id must be a string, got ${typeof id}`);
  return shared<Session<Data> | undefined>(manager, `s:${id}`, undefined, (set) => {
    // A change heard while the session loads is newer than what the load read.
    let heard = false;
    manager.get(id).then(
      (session) => heard || set(session),
      () => {}, // a closed manager or a store that is down: the value stays what events made it
    );
    const unwatch = watch(manager, (changes) => {
      for (const [changed, session] of changes) {
        if (changed === id) {
          heard = true;
          set(session);
        }
      }
    });
    return () => {
      heard = true;
      unwatch();
      set(undefined); // read again by the next subscriber: events were not heard meanwhile
    };
  });
}

/** What `sessionsSource` holds before its list is loaded: one frozen empty array. */
export const NO_SESSIONS: readonly Session<never>[] = Object.freeze([]);

/**
 * Every live session of `manager`, as one frozen array that is replaced (never mutated) on
 * change: in the order the manager listed them, a new one last, a touched or updated one where
 * it was, a rotated one last under its new id.
 */
export function sessionsSource<Data>(manager: ManagerLike<Data>): Source<readonly Session<Data>[]> {
  return shared<readonly Session<Data>[]>(manager, "list", NO_SESSIONS, (set) => {
    let byId = new Map<string, Session<Data>>();
    // Changes heard while the list loads are applied on top of it, in the order they came.
    let early: (readonly [string, Session<Data> | undefined])[] | undefined = [];
    const apply: Changes<Data> = (changes) => {
      for (const [id, session] of changes) {
        if (session) byId.set(id, session);
        else byId.delete(id);
      }
      if (!early) set(Object.freeze([...byId.values()]));
    };
    const unwatch = watch(manager, (changes) => (early ? early.push(...changes) : apply(changes)));
    const loaded = (sessions: Session<Data>[]) => {
      if (!early) return; // stopped
      byId = new Map(sessions.map((s) => [s.id, s]));
      const heard = early;
      early = undefined;
      apply(heard);
    };
    // A closed manager or a store that is down lists nothing: the events still count.
    manager.list().then(loaded, () => loaded([]));
    return () => {
      early = undefined;
      unwatch();
      set(NO_SESSIONS);
    };
  });
}

/** Throws a `RangeError` unless `interval` is a countdown interval setTimeout can wait. */
export function checkInterval(interval: number): void {
  // setTimeout's longest delay is 2^31 - 1 ms; beyond it the timer would fire at once, forever.
  if (!(interval >= 1 && interval < 2 ** 31)) {
    throw new RangeError(`interval must be 1 to 2^31 - 1 ms, got ${interval}`);
  }
}

/**
 * The ms left before session `id` expires, or `undefined` while there is no live session (not
 * loaded yet, absent, ended). Rounded up to `interval` (default 1000), the value changes on the
 * interval's boundaries of the time left (a countdown shown in seconds turns when the second
 * does), down to `0` at `expiresAt`, and at once when the session is touched, updated or ends.
 * Shared by everyone who asks for the same manager, id and interval.
 */
export function timeLeftSource<Data>(
  manager: ManagerLike<Data>,
  id: string,
  interval = 1000,
): Source<number | undefined> {
  checkInterval(interval);
  const session = sessionSource(manager, id);
  return shared<number | undefined>(manager, `t:${interval}:${id}`, undefined, (set) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      clearTimeout(timer);
      const current = session.get();
      if (!current) return set(undefined);
      const left = Math.max(0, current.expiresAt - Date.now());
      set(Math.ceil(left / interval) * interval);
      // The next boundary; a timer that fires a little early finds the same value and waits
      // the rest (1 ms or more), one that fires late (a sleeping machine) catches up at once.
      if (left > 0) timer = setTimeout(tick, left % interval || interval);
    };
    const unsubscribe = session.subscribe(tick);
    tick();
    return () => {
      clearTimeout(timer);
      unsubscribe();
      set(undefined);
    };
  });
}

/** Per manager: its status source. */
const statuses = new WeakMap<object, Source<SessionManagerStatus>>();

/**
 * The manager's `status`: `"loading"`, then `"ready"` (or `"degraded"` when a browser store fell
 * back to memory). Always read from the manager, which says when it changes.
 */
export function statusSource(manager: ManagerLike): Source<SessionManagerStatus> {
  return memo(statuses, manager, () => ({
    get: () => manager.status,
    subscribe(listener) {
      let stopped = false;
      const changed = () => stopped || listener();
      manager.ready.then(changed, changed);
      const off = manager.on("degraded", changed);
      return () => {
        stopped = true;
        off();
      };
    },
  }));
}
