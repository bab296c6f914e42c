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
  readonly ready: Promise<void>;
  readonly status: SessionManagerStatus;
  get(id: string): Promise<Session<Data> | undefined>;
  list(): Promise<Session<Data>[]>;
  on(
    event: "added" | "touched" | "removed" | "expired",
    fn: (session: Session<Data>) => void,
  ): () => void;
  on(event: "updated", fn: (session: Session<Data>, previous: Session<Data>) => void): () => void;
  on(event: "rotated", fn: (session: Session<Data>, previousId: string) => void): () => void;
  on(event: "synced", fn: () => void): () => void;
  on(event: "degraded", fn: (reason: Error) => void): () => void;
}

/** One session's value after a change: the session as it is now, or `undefined` if it ended. */
type Change<Data> = (id: string, session: Session<Data> | undefined) => void;

/** A source whose listeners are told after `set`, and which starts and stops with them. */
function createSource<T>(
  initial: T,
  start: (set: (value: T) => void) => () => void,
): Source<T> & {
  set(value: T): void;
} {
  let value = initial;
  let stop: (() => void) | undefined;
  const listeners = new Set<() => void>();
  const set = (next: T) => {
    if (Object.is(next, value)) return;
    value = next;
    for (const listener of [...listeners]) listener();
  };
  return {
    get: () => value,
    set,
    subscribe(listener) {
      // A Set keeps one entry per function: wrap it so two subscriptions of one function count twice.
      const entry = () => listener();
      listeners.add(entry);
      if (listeners.size === 1) stop = start(set);
      return () => {
        if (!listeners.delete(entry) || listeners.size > 0) return;
        stop?.();
        stop = undefined;
      };
    },
  };
}

/** Per manager: the change listeners that watch its sessions, attached while any is there. */
const hubs = new WeakMap<object, ReturnType<typeof createHub>>();

function createHub<Data>(manager: ManagerLike<Data>) {
  const watchers = new Set<Change<Data>>();
  let detach: (() => void) | undefined;
  const tell = (id: string, session: Session<Data> | undefined) => {
    for (const watcher of [...watchers]) watcher(id, session);
  };
  const attach = () => {
    const live = (session: Session<Data>) => tell(session.id, session);
    const ended = (session: Session<Data>) => tell(session.id, undefined);
    const offs = [
      manager.on("added", live),
      manager.on("touched", live),
      manager.on("updated", live),
      manager.on("removed", ended),
      manager.on("expired", ended),
      manager.on("rotated", (session, previousId) => {
        tell(previousId, undefined);
        tell(session.id, session);
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  };
  return {
    watch(watcher: Change<Data>): () => void {
      watchers.add(watcher);
      detach ??= attach();
      return () => {
        watchers.delete(watcher);
        if (watchers.size === 0) {
          detach?.();
          detach = undefined;
        }
      };
    },
  };
}

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

function hub<Data>(manager: ManagerLike<Data>): ReturnType<typeof createHub<Data>> {
  return memo(hubs, manager, () => createHub(manager)) as ReturnType<typeof createHub<Data>>;
}

/** Per manager: the shared sources, by kind and id. */
const cache = new WeakMap<object, Map<string, Source<unknown>>>();

function shared<T>(manager: object, key: string, make: () => Source<T>): Source<T> {
  const sources = memo(cache, manager, () => new Map<string, Source<unknown>>());
  return memo(sources, key, make as () => Source<unknown>) as Source<T>;
}

/** Resolves `read()` unless a change came first (`changed` says so), then hands it to `set`. */
function load<T>(read: () => Promise<T>, set: (value: T) => void): { changed(): void } {
  let stale = false;
  read().then(
    (value) => {
      if (!stale) set(value);
    },
    () => {
      // A closed manager or a store that is down: the value stays what events made it.
    },
  );
  return {
    changed() {
      stale = true;
    },
  };
}

/**
 * The live session `id` of `manager`, or `undefined` (not loaded yet, absent, expired, removed).
 * Shared by everyone who asks for the same manager and id.
 */
export function sessionSource<Data>(
  manager: ManagerLike<Data>,
  id: string,
): Source<Session<Data> | undefined> {
  return shared(manager, `s:${id}`, () =>
    createSource<Session<Data> | undefined>(undefined, (set) => {
      let loading = load(() => manager.get(id), set);
      const unwatch = hub(manager).watch((changed, session) => {
        if (changed !== id) return;
        loading.changed();
        set(session);
      });
      return () => {
        loading.changed();
        loading = { changed() {} };
        unwatch();
        set(undefined); // read again by the next subscriber: events were not heard meanwhile
      };
    }),
  );
}

const NO_SESSIONS: readonly Session<never>[] = Object.freeze([]);

/** Every live session of `manager`, as one array that is replaced (never mutated) on change. */
export function sessionsSource<Data>(manager: ManagerLike<Data>): Source<readonly Session<Data>[]> {
  return shared(manager, "list", () =>
    createSource<readonly Session<Data>[]>(NO_SESSIONS, (set) => {
      let byId = new Map<string, Session<Data>>();
      const publish = () => set(Object.freeze([...byId.values()]));
      // Changes heard while the list loads are applied on top of it, in the order they came.
      const early: [string, Session<Data> | undefined][] = [];
      let loaded = false;
      const apply = (id: string, session: Session<Data> | undefined) => {
        if (session) byId.set(id, session);
        else byId.delete(id);
      };
      const unwatch = hub(manager).watch((id, session) => {
        if (!loaded) {
          early.push([id, session]);
          return;
        }
        apply(id, session);
        publish();
      });
      let stopped = false;
      manager.list().then(
        (sessions) => {
          if (stopped) return;
          byId = new Map(sessions.map((s) => [s.id, s]));
          for (const [id, session] of early.splice(0)) apply(id, session);
          loaded = true;
          publish();
        },
        () => {
          loaded = true;
        },
      );
      return () => {
        stopped = true;
        unwatch();
        set(NO_SESSIONS);
      };
    }),
  );
}

/**
 * The ms left before session `id` expires, or `undefined` while there is no live session. The
 * value changes every `interval` ms (default 1000), on the interval's boundaries of the time left
 * (a countdown shown in seconds turns when the second does), and at once when the session is
 * touched, updated or ends. Not shared: each subscriber's interval may differ.
 */
export function timeLeftSource<Data>(
  manager: ManagerLike<Data>,
  id: string,
  interval = 1000,
): Source<number | undefined> {
  if (!(interval > 0))
    throw new RangeError(`interval must be a positive number of ms, got ${interval}`);
  return shared(manager, `t:${interval}:${id}`, () => {
    const session = sessionSource(manager, id);
    return createSource<number | undefined>(undefined, (set) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = () => {
        clearTimeout(timer);
        const current = session.get();
        if (!current) return set(undefined);
        const left = Math.max(0, current.expiresAt - Date.now());
        // Rounded up to the interval, so that the value shown changes on the interval's boundary.
        set(Math.ceil(left / interval) * interval);
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
  });
}

/** The manager's `status`: `"loading"`, then `"ready"` (or `"degraded"`). */
export function statusSource(manager: ManagerLike): Source<SessionManagerStatus> {
  return shared(manager, "status", () =>
    createSource<SessionManagerStatus>(manager.status, (set) => {
      let stopped = false;
      const read = () => {
        if (!stopped) set(manager.status);
      };
      read();
      manager.ready.then(read, read);
      const off = manager.on("degraded", read);
      return () => {
        stopped = true;
        off();
      };
    }),
  );
}
