// Section 2: heap bytes per live session (data null) at N sessions, for each implementation.

import { table } from "../lib/table.mjs";
import { assert, fmtInt, gc, makeKeys } from "../lib/util.mjs";
import { IMPLS } from "./impls.mjs";

export const MEMORY_SIZES = [100_000, 1_000_000];

/**
 * gc, snapshot, create the store and insert N sessions, gc, snapshot; the store is used again
 * after the second snapshot so it is certainly alive while measured. Keys are built beforehand:
 * the id strings are the caller's, not the store's, cost.
 */
async function measureOne(impl, keys) {
  const n = keys.length;
  gc();
  const before = process.memoryUsage();
  const store = await impl.create(n);
  await impl.fill(store, keys);
  gc();
  const after = process.memoryUsage();
  const size = await impl.size(store);
  if (size !== undefined) assert(size === n, `${impl.name} holds ${size} of ${n} sessions`);
  await impl.close(store);
  return {
    heapBytesPerSession: (after.heapUsed - before.heapUsed) / n,
    externalBytesPerSession: (after.external - before.external) / n,
    heapUsedAfterMB: after.heapUsed / 1e6,
  };
}

export async function runMemory(sizes = MEMORY_SIZES) {
  const results = {};
  for (const n of sizes) {
    const keys = makeKeys(n);
    results[n] = {};
    for (const impl of IMPLS) results[n][impl.name] = await measureOne(impl, keys);
  }
  const rows = IMPLS.map((impl) => [
    impl.name,
    ...sizes.flatMap((n) => [
      results[n][impl.name].heapBytesPerSession.toFixed(1),
      results[n][impl.name].externalBytesPerSession.toFixed(1),
    ]),
  ]);
  const header = [
    "implementation",
    ...sizes.flatMap((n) => [`heap B @${fmtInt(n)}`, "+external B"]),
  ];
  console.log(
    table("2. Memory per live session (bytes, data null)", header, rows, [
      "heap = (heapUsed after - before) / N around: create store, insert N, global.gc().",
      "+external = the same for process.memoryUsage().external (typed arrays live there).",
      "key strings are built before the first snapshot, so they are not counted.",
      "target: sessionmanager heap <= 300 B per session at 1,000,000.",
    ]),
  );
  return results;
}
