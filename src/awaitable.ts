import type { Awaitable } from "./types.ts";

/** Whether a store answered with a promise (most stores) or a plain value (the memory store). */
export function isThenable<T>(value: Awaitable<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

/**
 * `fn(value)`: at once for a plain value, once it settles for a promise. (Not named `then`: a
 * module that exports `then` is itself a thenable to `await import()`.)
 */
export function settle<T, R>(value: Awaitable<T>, fn: (value: T) => R): R | Promise<Awaited<R>> {
  // `then` flattens what `fn` returns; its typing says `R | Awaited<R>`.
  return isThenable(value) ? (Promise.resolve(value).then(fn) as Promise<Awaited<R>>) : fn(value);
}
