// express-session calls stores in the Node callback style; the store's work is promises. One
// bridge: the callback runs exactly once, error first, never synchronously from the call (so a
// throwing callback is never mistaken for a store error and called twice, as a try/catch around
// it would), and without a callback the promise itself is returned.

/** A Node-style callback: `(error)` or `(null, value)`. */
export type Callback<T> = (error: unknown, value?: T) => void;

/** Settles `work` into `callback`, or returns it when there is none. */
export function settle<T>(
  work: Promise<T>,
  callback: Callback<T> | undefined,
): Promise<T> | undefined {
  if (!callback) return work;
  void work.then(
    (value) => callback(null, value),
    (error: unknown) => callback(error),
  );
  return undefined;
}
