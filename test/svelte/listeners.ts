import { vi } from "vitest";
import type { ManagerLike } from "../../src/svelte/index.ts";

/**
 * Counts the event listeners `manager.on` has now: a function that says how many were added and
 * not taken off yet (the bindings' hub attaches a few per manager while anyone watches).
 */
export function listenersOf<Data>(manager: ManagerLike<Data>): () => number {
  let live = 0;
  const on = manager.on.bind(manager) as (event: string, fn: unknown) => () => void;
  vi.spyOn(manager, "on").mockImplementation(((event: string, fn: unknown) => {
    const off = on(event, fn);
    live++;
    let done = false;
    return () => {
      if (!done) live--;
      done = true;
      off();
    };
  }) as never);
  return () => live;
}
