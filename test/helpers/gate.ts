// Promises that let a test put racing calls in a chosen order.

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * A meeting of `parties` calls: each of the first `parties` calls of the function it returns waits
 * until all of them have arrived, then they all go on; later calls go on at once.
 */
export function meeting(parties: number): () => Promise<void> {
  const waiting: (() => void)[] = [];
  let met = false;
  return () => {
    if (met) return Promise.resolve();
    const { promise, resolve } = deferred();
    waiting.push(resolve);
    if (waiting.length === parties) {
      met = true;
      for (const release of waiting.splice(0)) release();
    }
    return promise;
  };
}
