// Counts what a binding asks of a manager: the listeners it holds now (subscribed with `on`
// and not yet let go) and the calls of each method. Plain code, for Node and the browser alike.
import type { ManagerLike } from "../../src/bindings/sources.ts";

export interface Listening {
  /** Listeners added with `on` and not removed since, by event. */
  readonly active: Map<string, number>;
  /** How many listeners the manager holds now, every event together. */
  total(): number;
  /** Calls of `get`, `list` and `on` so far. */
  readonly calls: { get: number; list: number; on: number };
}

/** Wraps `manager`'s `on`, `get` and `list` (own properties shadowing its methods) to count them. */
export function listening(manager: ManagerLike<never> | ManagerLike<unknown>): Listening {
  const m = manager as unknown as Record<string, (...args: unknown[]) => unknown>;
  const active = new Map<string, number>();
  const calls = { get: 0, list: 0, on: 0 };
  const on = m.on as (event: string, fn: unknown) => () => void;
  const get = m.get as (id: string) => unknown;
  const list = m.list as () => unknown;
  m.on = (event: unknown, fn: unknown) => {
    calls.on++;
    const name = event as string;
    const off = on.call(manager, name, fn);
    active.set(name, (active.get(name) ?? 0) + 1);
    let done = false;
    return () => {
      if (!done) active.set(name, (active.get(name) ?? 0) - 1);
      done = true;
      off();
    };
  };
  m.get = (id: unknown) => {
    calls.get++;
    return get.call(manager, id as string);
  };
  m.list = () => {
    calls.list++;
    return list.call(manager);
  };
  return {
    active,
    calls,
    total: () => [...active.values()].reduce((a, b) => a + b, 0),
  };
}
