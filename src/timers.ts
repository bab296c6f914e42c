// What every timer of the SDK does: it never keeps a process alive.

/**
 * `timer`, unref'd where the runtime can (Node, Bun, Deno): a pending timer of the SDK never
 * keeps a process alive. In a page a timer is a number, and this does nothing.
 */
export function unref<T>(timer: T): T {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    if (typeof timer.unref === "function") timer.unref();
  }
  return timer;
}
