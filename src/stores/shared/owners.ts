// What the stores with partitions of their own (Redis, Memcached) share: a partition made of a
// store's parts, and the root's sweep over every owner.
import type {
  CountRequest,
  ListRequest,
  Page,
  SessionPartition,
  SessionRecord,
  WriteCondition,
} from "../types.ts";
import { partitionPrefix } from "./partition.ts";

/** The parts of a store that keep one owner's records. */
export interface OwnerParts {
  get(id: string): Promise<SessionRecord | undefined>;
  set(record: SessionRecord, condition?: WriteCondition): Promise<boolean>;
  delete(id: string, condition?: { readonly ifVersion: number }): Promise<boolean>;
  page(request: ListRequest): Promise<Page>;
  count?(request: CountRequest): Promise<number>;
  clear(): Promise<SessionRecord[]>;
}

/** `owner`'s partition made of `parts` (which take no change: these stores keep no change log). */
export function ownerPartition(owner: string, parts: OwnerParts): SessionPartition {
  return {
    owner,
    get: parts.get,
    set: (record, condition) => parts.set(record, condition),
    delete: (id, condition) => parts.delete(id, condition),
    list: parts.page,
    ...(parts.count && { count: parts.count }),
    clear: parts.clear,
  };
}

/**
 * Runs `sweep` on each of `owners`, `atOnce` at a time: the records it deleted, with the ids
 * `partitionPrefix(owner) + id` (as the root of a store without partitions would hold them).
 */
export async function sweepOwners(
  owners: readonly string[],
  atOnce: number,
  sweep: (owner: string) => Promise<SessionRecord[]>,
): Promise<SessionRecord[]> {
  const deleted: SessionRecord[] = [];
  for (let i = 0; i < owners.length; i += atOnce) {
    const batch = owners.slice(i, i + atOnce);
    const swept = await Promise.all(batch.map(sweep));
    swept.forEach((records, j) => {
      const prefix = partitionPrefix(batch[j] as string);
      for (const r of records) deleted.push(Object.freeze({ ...r, id: prefix + r.id }));
    });
  }
  return deleted;
}
