// Partitions (owners) of a store: the store's own, or its records under a prefix per owner.
import { settle } from "../../awaitable.ts";
import { ConflictError } from "../../errors.ts";
import { guardMethods } from "../open.ts";
import type {
  Awaitable,
  Page,
  PageRequest,
  SessionPartition,
  SessionRecord,
  SessionStore,
} from "../types.ts";
import { pageOf } from "./range.ts";

/** How many times `clear` deletes a record again that another writer changed meanwhile. */
const ATTEMPTS = 5;
/** Deletes of one `clear` that run at once: stores with a shared index contend on it. */
const CLEAR_BATCH = 8;

/**
 * The id prefix of an owner's records in a store without partitions of its own:
 * `encodeURIComponent(owner) + "/"`. An encoded owner has no "/", so no owner's prefix is a
 * prefix of another's, whatever characters the names hold.
 */
export function partitionPrefix(owner: string): string {
  return `${encodeURIComponent(owner)}/`;
}

/**
 * The owner's partition of `store`: its own (guarded: what it throws or rejects with surfaces as
 * `BackendError`, as the store's own calls do), or `prefixPartition`.
 */
export function partitionOf(store: SessionStore, owner: string): SessionPartition {
  if (!store.partition) return prefixPartition(store, owner);
  const partition = store.partition(owner);
  return guardMethods(partition, store.name, {
    owner: partition.owner,
  }) as unknown as SessionPartition;
}

/**
 * The owner's records kept in `store` itself, under the ids `partitionPrefix(owner) + id`
 * (unstorage's `prefixStorage`): one sweep of the store purges every owner, and native expiry
 * works as for any record. Lists page with the store's `listPage` (or `listPrefix`, or `list`),
 * filtered again, so that a store whose prefix match is looser never hands one owner another's.
 */
export function prefixPartition(store: SessionStore, owner: string): SessionPartition {
  const prefix = partitionPrefix(owner);
  const inner = (record: SessionRecord) => Object.freeze({ ...record, id: prefix + record.id });
  const outer = (record: SessionRecord) =>
    Object.freeze({ ...record, id: record.id.slice(prefix.length) });
  const own = (records: SessionRecord[]) =>
    records.filter((r) => r.id.startsWith(prefix)).map(outer);
  const page = async (request: PageRequest): Promise<Page> => {
    const wanted = { ...request, prefix };
    if (store.listPage) return store.listPage(wanted);
    const all = store.listPrefix ? await store.listPrefix(prefix) : await store.list();
    return pageOf(all, wanted);
  };
  const partition: SessionPartition = {
    owner,
    get: (id) =>
      settle(store.get(prefix + id), (found) => found && outer(found)) as Awaitable<
        SessionRecord | undefined
      >,
    set: (record, condition) => store.set(inner(record), condition),
    delete: (id, condition) => store.delete(prefix + id, condition),
    // The store's count of the prefix, where it has one (`countLive` pages `list` otherwise).
    ...(store.count && { count: (request) => store.count?.({ ...request, prefix }) ?? 0 }),
    async list(request) {
      const { records, next } = await page(request);
      return next === undefined ? { records: own(records) } : { records: own(records), next };
    },
    async clear() {
      const removed: SessionRecord[] = [];
      for (let cursor: string | undefined, done = false; !done; ) {
        const { records, next } = await partition.list({ cursor, limit: 1000 });
        // A few at a time: stores that keep an index per namespace (Memcached) update it with
        // compare-and-swap, and a thousand deletes at once would only fight over it.
        for (let i = 0; i < records.length; i += CLEAR_BATCH) {
          const batch = records.slice(i, i + CLEAR_BATCH);
          for (const gone of await Promise.all(batch.map((r) => removeAny(partition, r)))) {
            if (gone) removed.push(gone);
          }
        }
        cursor = next;
        done = next === undefined;
      }
      return removed;
    },
  };
  return partition;
}

/** Deletes `record` whatever its version now; resolves to the record deleted, if any. */
async function removeAny(
  partition: SessionPartition,
  record: SessionRecord,
): Promise<SessionRecord | undefined> {
  let current: SessionRecord | undefined = record;
  for (let attempt = 0; current && attempt < ATTEMPTS; attempt++) {
    if (await partition.delete(current.id, { ifVersion: current.version })) return current;
    current = await partition.get(record.id);
  }
  if (current) throw new ConflictError("clear kept losing to other writers");
  return undefined;
}
