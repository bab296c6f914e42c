// Heap per queued offline write of the replica store: `npm run bench:queue` (npm run build &&
// node --expose-gc bench/queue/run.mjs). N writes of small data go to a replica whose server cannot be
// reached, so every one stays queued in its outbox; the same N writes to the bare local store
// are the baseline, and the difference per write is the queue's own cost (target <= 1 KiB).
// SESSIONMANAGER_DIST points at another build directory (default dist/; bench/lib/dist.mjs).
import { performance } from "node:perf_hooks";
import { fromDist } from "../lib/dist.mjs";
import { table } from "../lib/table.mjs";
import { assert, fmtInt, gc } from "../lib/util.mjs";

const N = 10_000;
const TARGET_BYTES = 1024;
const { memoryStore } = await fromDist("stores/memory.js");
const { replicaStore } = await fromDist("remote.js");

// A server that is never there: each request fails at once, as with no network.
const offline = async () => {
  throw new TypeError("fetch failed: offline");
};

/** N small records, built before any measurement: they are the data, not the queue's cost. */
function makeRecords(n) {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) =>
    Object.freeze({
      id: `user${i}`,
      data: Object.freeze({ n: i }),
      createdAt: now,
      updatedAt: now,
      expiresAt: now + 3_600_000,
      ttl: 3_600_000,
      version: 1,
    }),
  );
}

// Each maker returns the store to write to and the local store under it.
const stores = {
  "memory (baseline)": () => {
    const local = memoryStore();
    return [local, local];
  },
  "replica of memory, offline": () => {
    const local = memoryStore();
    const options = { url: "http://offline.invalid", token: "t", fetch: offline, retry: 0 };
    return [replicaStore(local, { ...options, pullInterval: "1h" }), local];
  },
};

/** The writes waiting in the outbox (the record with a reserved id, over 256 characters). */
async function queuedIn(local) {
  const outbox = (await local.list()).find((r) => r.id.length > 256 && r.data?.ops);
  return outbox?.data.ops.length;
}

/** Heap growth of writing `records` (create only, as `add` does) into a fresh store. */
async function measure(make, records) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const [store, local] = make();
  await store.open?.({ report: () => {} });
  const started = performance.now();
  for (const record of records) {
    assert(await store.set(record, { ifAbsent: true }), `write of ${record.id} refused`);
  }
  const ms = performance.now() - started;
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  // Still alive while measured: every write is there, and (for the replica) still queued.
  assert((await store.list()).length === records.length, "a write is missing");
  const queued = await queuedIn(local);
  await store.close?.();
  return { heap, ms, queued };
}

const records = makeRecords(N);
const results = {};
for (const [name, make] of Object.entries(stores)) results[name] = await measure(make, records);
const baseline = results["memory (baseline)"];
const replica = results["replica of memory, offline"];
if (replica.queued !== undefined) assert(replica.queued === N, `${replica.queued} of ${N} queued`);
const perWrite = (replica.heap - baseline.heap) / N;
console.log(
  table(
    `Replica queue: heap per queued offline write (${fmtInt(N)} writes)`,
    ["store", "heap B/write", "µs/write", "queued"],
    Object.entries(results).map(([name, r]) => [
      name,
      (r.heap / N).toFixed(1),
      ((r.ms * 1000) / N).toFixed(1),
      r.queued ?? "-",
    ]),
    [
      `queue overhead = (replica - baseline) / N = ${perWrite.toFixed(1)} B per write`,
      `target: <= ${TARGET_BYTES} B per queued write (beyond the data): ${perWrite <= TARGET_BYTES ? "met" : "MISSED"}`,
      "records are built before the first snapshot, so the data itself is not counted.",
    ],
  ),
);
process.exitCode = perWrite <= TARGET_BYTES ? 0 : 1;
