// Counting live records: over records in memory, and over a partition that cannot count itself.
import type {
  CountRequest,
  PrefixCountRequest,
  SessionPartition,
  SessionRecord,
} from "../types.ts";

/** The most records a page of the fallback count reads. */
const PAGE = 1000;

/**
 * How many of `records` are live at `request.now` with an id starting with `request.prefix`,
 * stopping at `request.upTo`: the `count` of stores that hold their records in memory.
 */
export function liveCount(records: Iterable<SessionRecord>, request: PrefixCountRequest): number {
  const { now, upTo = Number.POSITIVE_INFINITY, prefix = "" } = request;
  let live = 0;
  for (const record of records) {
    if (live >= upTo) break;
    if (record.expiresAt > now && record.id.startsWith(prefix)) live++;
  }
  return live;
}

/**
 * How many of the partition's records are live at `request.now`, at most `request.upTo`: its own
 * `count`, or, for a partition without one, its pages read one after another (each no larger
 * than what could still reach the bound), expired records skipped.
 */
export async function countLive(
  partition: SessionPartition,
  request: CountRequest,
): Promise<number> {
  const { now, upTo = Number.POSITIVE_INFINITY } = request;
  if (partition.count) return Math.min(await partition.count(request), upTo);
  let live = 0;
  let cursor: string | undefined;
  do {
    const page = await partition.list({ cursor, limit: Math.min(PAGE, upTo - live) });
    live += liveCount(page.records, { now, upTo: upTo - live });
    cursor = page.next;
  } while (cursor !== undefined && live < upTo);
  return live;
}
