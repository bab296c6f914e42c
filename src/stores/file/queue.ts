// The file store's queue: the calls of this process on one file, one at a time, in batches.
import type { Contents, Format } from "./format.ts";
import { identify, load, type Snapshot, writeAtomically } from "./io.ts";

/** What a change returns, and whether it changed the records (then the file is written). */
export type Change<T> = readonly [result: T, changed: boolean];

/** A call waiting for its turn on a file. */
interface Job {
  format: Format;
  /** Consecutive reads share one look at the file, changes one write; a wait touches nothing. */
  kind: "read" | "change" | "wait";
  /** Runs the call on the contents; true if it changed them. */
  run(contents: Contents): boolean;
  /** Settles the call's promise: with its result, or with `error`. */
  settle(error?: { error: unknown }): void;
}

/** Per file (its real path): the last snapshot, and the calls queued on it in this process. */
interface Slot {
  snapshot: Snapshot | undefined;
  jobs: Job[];
  draining: boolean;
  /** Open stores on the file: the snapshot is kept while there are any. */
  stores: number;
}

const slots = new Map<string, Slot>();

export function slotOf(file: string): Slot {
  let slot = slots.get(file);
  if (!slot) {
    slot = {
      snapshot: undefined,
      jobs: [],
      draining: false,
      stores: 0,
    };
    slots.set(file, slot);
  }
  return slot;
}

export function release(file: string, slot: Slot): void {
  if (slot.stores <= 0 && !slot.draining && slots.get(file) === slot) slots.delete(file);
}

/** Queues `task` on `file`: a read or a change of its contents, or a wait for the calls before. */
export function enqueue<T>(
  file: string,
  format: Format,
  kind: Job["kind"],
  task: (contents: Contents) => Change<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let result: T;
    const slot = slotOf(file);
    slot.jobs.push({
      format,
      kind,
      run(contents) {
        const [value, changed] = task(contents);
        result = value;
        return changed;
      },
      settle: (failed) => (failed ? reject(failed.error) : resolve(result)),
    });
    if (!slot.draining) {
      slot.draining = true;
      void drain(file, slot);
    }
  });
}

/** Runs the calls queued on `file` in turn; consecutive reads, or changes, as one batch. */
async function drain(file: string, slot: Slot): Promise<void> {
  // The calls made in the same task as the first join its batch.
  await undefined;
  while (slot.jobs.length > 0) {
    const first = slot.jobs[0] as Job;
    let end = 1;
    for (const job of slot.jobs.slice(1)) {
      if (first.kind === "wait" || job.kind !== first.kind || job.format !== first.format) break;
      end++;
    }
    const batch = slot.jobs.splice(0, end);
    if (first.kind === "wait") {
      first.settle();
      continue;
    }
    try {
      await runBatch(file, slot, first.format, batch);
    } catch (error) {
      for (const job of batch) job.settle({ error });
    }
  }
  slot.draining = false;
  release(file, slot);
}

/**
 * Runs `batch` on the file's contents, read again first if the file is not the one they came
 * from, and writes the file once if any call changed them. If the write fails, every change in
 * the batch rejects and the contents are forgotten (the next call reads the file).
 */
async function runBatch(file: string, slot: Slot, format: Format, batch: Job[]): Promise<void> {
  let snapshot = slot.snapshot;
  if (snapshot?.format !== format || snapshot.identity !== (await identify(file))) {
    snapshot = slot.snapshot = await load(file, format);
  }
  const { contents } = snapshot;
  let changed = false;
  const done = batch.filter((job) => {
    try {
      changed = job.run(contents) || changed;
      return true;
    } catch (error) {
      job.settle({ error });
      return false;
    }
  });
  if (changed) {
    // Until the write is done the contents are ahead of the file.
    slot.snapshot = undefined;
    const identity = await writeAtomically(file, format.stringify(contents));
    slot.snapshot = { format, identity, contents };
  }
  for (const job of done) job.settle();
}
