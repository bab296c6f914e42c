// The conditional-write check every store makes against what it holds (unstorage's `checkCAS`).
import type { SessionRecord, WriteCondition } from "../types.ts";

/**
 * Whether `condition` holds for the stored `current` record: `ifAbsent` when nothing is stored
 * under the id, `ifVersion` when the stored record has that version. `exists` says whether
 * something is stored when `current` is `undefined` because it could not be read (a record of
 * another format): that is not absent, and never at a version.
 */
export function holds(
  current: SessionRecord | undefined,
  condition: WriteCondition,
  exists: boolean = current !== undefined,
): boolean {
  return "ifAbsent" in condition ? !exists : current?.version === condition.ifVersion;
}
