/**
 * Svelte stores of a manager's sessions: {@link sessionStore}, {@link sessionsStore},
 * {@link timeLeftStore} and {@link statusStore}, readable by `$store`, `get`, `derived` and
 * `fromStore` in Svelte 4 and 5. No svelte dependency; server rendering reads no storage.
 * @packageDocumentation
 */
// Svelte stores over a manager's sessions. Readable stores by Svelte's store contract
// (https://svelte.dev/docs/svelte/stores#Store-contract): `subscribe(run, invalidate?)` calls
// `run` at once with the current value and again after each change, and returns the
// unsubscribe function. Nothing here imports svelte: the stores work with `$store`, `get` and
// `derived` of Svelte 4 and 5, and with Svelte 5's `fromStore`.
//
// Svelte subscribes while it renders on the server (`$store` in a component) and lets go when the
// component has rendered, in the same synchronous run. So a store answers its first subscriber
// with what is known without reading (`undefined`, no sessions) and attaches to the manager a
// microtask later, only if someone is still subscribed: server rendering reads no storage.
import {
  type ManagerLike,
  type Source,
  sessionSource,
  sessionsSource,
  statusSource,
  type TimeLeftOptions,
  timeLeftSource,
} from "../bindings/sources.ts";
import type { SessionManagerStatus } from "../options.ts";
import { checkId } from "../session.ts";
import type { Session } from "../types.ts";

export type { ManagerLike, TimeLeftOptions } from "../bindings/sources.ts";

/**
 * A readable Svelte store: the shape of svelte/store's `Readable`, which it can be used as (with
 * `$store`, `get`, `derived`, `fromStore`). There is no `set`: the manager's methods change the
 * value.
 */
export interface Readable<T> {
  /**
   * Calls `run` now with the current value, then after each change (`invalidate` first, as
   * svelte/store's `derived` expects), until the returned function is called.
   */
  subscribe(this: void, run: (value: T) => void, invalidate?: () => void): () => void;
}

/**
 * The live session `id` of `manager`: `undefined` until it is read, and while there is none (never
 * added, removed, expired). Follows touches, updates, rotations and removals, in other tabs too;
 * a change to another session does not call its subscribers.
 * @example
 * <script>
 *   const session = sessionStore(manager, "user123");
 * </script>
 * {#if $session}Hello {$session.data.name}{/if}
 */
export function sessionStore<Data>(
  manager: ManagerLike<Data>,
  id: string,
): Readable<Session<Data> | undefined> {
  checkManager(manager);
  checkId(id);
  return readable(sessionSource(manager, id));
}

/**
 * Every live session of `manager`, as a frozen array that is replaced (never mutated) on each
 * change; empty until the sessions are read.
 * @example
 * <script>
 *   const sessions = sessionsStore(manager);
 * </script>
 * {#each $sessions as session (session.id)}<li>{session.id}</li>{/each}
 */
export function sessionsStore<Data>(
  manager: ManagerLike<Data>,
): Readable<readonly Session<Data>[]> {
  checkManager(manager);
  return readable(sessionsSource(manager));
}

/**
 * The ms left before session `id` expires, rounded up to `interval` (default 1000) so that a
 * countdown in seconds turns with the second; `undefined` while there is no live session. It
 * ticks only while subscribed, and changes at once when the session is touched or ends.
 * @throws RangeError if `interval` is not a positive number.
 * @example
 * <script>
 *   const left = timeLeftStore(manager, "user123");
 * </script>
 * {#if $left !== undefined}Signed out in {$left / 1000} s{/if}
 */
export function timeLeftStore<Data>(
  manager: ManagerLike<Data>,
  id: string,
  options: TimeLeftOptions = {},
): Readable<number | undefined> {
  checkManager(manager);
  checkId(id);
  return readable(timeLeftSource(manager, id, options.interval));
}

/**
 * The manager's `status`: `"loading"` until its stored sessions are read, then `"ready"`, or
 * `"degraded"` if its store failed and it keeps sessions in memory.
 * @example
 * <script>
 *   const status = statusStore(manager);
 * </script>
 * {#if $status === "degraded"}Sessions are not saved on this device.{/if}
 */
export function statusStore(manager: ManagerLike): Readable<SessionManagerStatus> {
  checkManager(manager);
  return readable(statusSource(manager));
}

function checkManager(manager: unknown): void {
  if (typeof (manager as ManagerLike | undefined)?.on !== "function") {
    throw new TypeError(`manager must be a SessionManager, got ${typeof manager}`);
  }
}

/** One store per source, shared like the sources are (one per manager and id). */
const stores = new WeakMap<Source<unknown>, Readable<unknown>>();

function readable<T>(source: Source<T>): Readable<T> {
  let store = stores.get(source) as Readable<T> | undefined;
  if (!store) {
    store = createReadable(source);
    stores.set(source, store as Readable<unknown>);
  }
  return store;
}

interface Subscriber<T> {
  readonly run: (value: T) => void;
  readonly invalidate: (() => void) | undefined;
}

function createReadable<T>(source: Source<T>): Readable<T> {
  const subscribers = new Set<Subscriber<T>>();
  let value = source.get();
  let detach: (() => void) | undefined;
  const changed = () => {
    const next = source.get();
    if (Object.is(next, value)) return;
    value = next;
    // As svelte/store's own stores do: every subscriber invalidated before any runs, so that a
    // `derived` of two stores that both follow this one computes once, from both new values.
    const told = [...subscribers];
    for (const subscriber of told) subscriber.invalidate?.();
    for (const subscriber of told) if (subscribers.has(subscriber)) subscriber.run(next);
  };
  const attach = () => {
    if (subscribers.size === 0 || detach) return;
    detach = source.subscribe(changed);
    changed(); // what the source already knew (another subscriber of it) or changed meanwhile
  };
  return {
    subscribe(run, invalidate) {
      if (subscribers.size === 0 && !detach) value = source.get();
      // Before it is counted: a `run` that throws leaves nothing subscribed.
      run(value);
      const subscriber: Subscriber<T> = { run, invalidate };
      subscribers.add(subscriber);
      if (subscribers.size === 1 && !detach) queueMicrotask(attach);
      return () => {
        if (!subscribers.delete(subscriber) || subscribers.size > 0) return;
        detach?.();
        detach = undefined;
      };
    },
  };
}
