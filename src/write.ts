// The one read → decide → conditional write → retry loop. The manager, the server's owner
// sessions and the sync outbox all change a record this way, so that a write lands only on the
// version it was decided from, across tabs, processes and servers.
import { isThenable } from "./awaitable.ts";
import type { SessionStore } from "./stores/types.ts";
import type { Awaitable, SessionRecord, WriteCondition } from "./types.ts";

/** What to store: a record, `null` to delete, `undefined` to leave the store as it is. */
export type Decision = SessionRecord | null | undefined;

/** The steps of one conditional write; see `conditionalWrite`. */
export interface WriteSteps<D extends Decision> {
  /** Where the decision is written. */
  store: Pick<SessionStore, "set" | "delete">;
  /** The record as stored now (expired or not); `attempt` 0 may answer from what it knows. */
  read(attempt: number): Awaitable<SessionRecord | undefined>;
  /** What to store, made from what `read` found. It may run again: keep it free of effects. */
  decide(stored: SessionRecord | undefined): Awaitable<D>;
  /** How many attempts before giving up: more means another writer changes it non-stop. */
  attempts: number;
  /** The error to reject with when every attempt lost to another writer. */
  conflict(): Error;
}

const IF_ABSENT: WriteCondition = { ifAbsent: true };

/**
 * Reads a record, decides what to write, and writes it on condition that nobody wrote in between
 * (at the version it read, or while it is still absent); again, from a fresh read, if somebody
 * did. Resolves to what `decide` returned the last time. Plain (synchronous) answers are used as
 * they are: awaiting only real promises saves a tick per step on the memory store.
 */
export async function conditionalWrite<D extends Decision>(steps: WriteSteps<D>): Promise<D> {
  const { store } = steps;
  for (let attempt = 0; attempt < steps.attempts; attempt++) {
    const read = steps.read(attempt);
    const stored = isThenable(read) ? await read : read;
    const decided = steps.decide(stored);
    let next = isThenable(decided) ? await decided : decided;
    if (next === undefined) return next;
    // A record made over a stored one at or above its version (a create over an expired record
    // not swept yet, made at version 1) takes the version after it: a (key, version) pair is never
    // reused, or a writer that read the old record would still meet its condition and overwrite.
    if (next && stored && next.version <= stored.version) {
      next = Object.freeze({ ...next, version: stored.version + 1 }) as D;
    }
    let written: Awaitable<boolean>;
    if (next === null) {
      if (!stored) return next; // deleting what is not there is done already
      written = store.delete(stored.id, { ifVersion: stored.version });
    } else {
      written = store.set(
        next as SessionRecord,
        stored ? { ifVersion: stored.version } : IF_ABSENT,
      );
    }
    if (isThenable(written) ? await written : written) return next;
  }
  throw steps.conflict();
}
