// Small helpers shared by the bench sections: gc, keys, clocks, event-loop settling.
import { performance } from "node:perf_hooks";

export const now = () => performance.now();

/** Full collection; the bench must run with `node --expose-gc`. */
export function gc() {
  if (typeof globalThis.gc !== "function") {
    throw new Error("run with `node --expose-gc` (global.gc is missing), as `npm run bench` does");
  }
  globalThis.gc();
  globalThis.gc();
}

/** The keys "user0" … "user{n-1}", built once so that no loop pays for string building. */
export function makeKeys(n) {
  const keys = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = `user${i}`;
  return keys;
}

/** Lets pending macrotasks (and async_hooks destroy callbacks) run. */
export async function settle(turns = 3) {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Blocks the thread until `Date.now() > until`: simulates a suspended or busy process. */
export function blockUntil(until) {
  while (Date.now() <= until) {
    // busy wait on purpose
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(`bench assertion failed: ${message}`);
}

export const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
export const fmtPct = (x) => `${(x * 100).toFixed(1)}%`;
export const fmtMs = (x) => `${x.toFixed(2)} ms`;
