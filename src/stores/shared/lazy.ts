// Lazy connect: a store opens its connection on first use, once, and shares the promise.

/** A connection opened on first use; see `lazy`. */
export interface Lazy<T> {
  /** The connection: opened by the first call, the same promise after, again after a failure. */
  (): Promise<T>;
  /** Forgets the connection, so the next call opens a new one; resolves to the old one, if any. */
  reset(): Promise<T | undefined>;
}

/**
 * Opens with `open` on the first call and gives every later call the same promise. A failed
 * open is forgotten (the calls waiting on it reject with its error), so a server that was down
 * is tried again by the next call rather than failing for good.
 */
export function lazy<T>(open: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | undefined;
  const get = (() =>
    (pending ??= open().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }))) as Lazy<T>;
  get.reset = async () => {
    const old = pending;
    pending = undefined;
    return old?.catch(() => undefined);
  };
  return get;
}
