// One page of the records held in memory, without sorting them all for every page.
import { pageFrom } from "../shared/range.ts";
import type { ListRequest, Page, SessionRecord } from "../types.ts";

/**
 * One page as `pageOf` answers it (ids in code unit order, after the cursor, starting with the
 * prefix), keeping only the `limit + 1` lowest ids while it walks the records: paging through n
 * records costs n per page, not n log n (10,000 sessions in pages of 100 sorted 10,000 ids 100 times).
 */
export function firstPage(records: Iterable<SessionRecord>, request: ListRequest): Page {
  const { prefix = "", cursor, limit } = request;
  const keep = limit + 1;
  const lowest: SessionRecord[] = [];
  for (const record of records) {
    const { id } = record;
    if (!id.startsWith(prefix) || (cursor !== undefined && id <= cursor)) continue;
    const last = lowest[lowest.length - 1];
    if (lowest.length === keep && last && id >= last.id) continue;
    // Binary search for its place among the lowest so far.
    let low = 0;
    let high = lowest.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((lowest[middle] as SessionRecord).id < id) low = middle + 1;
      else high = middle;
    }
    lowest.splice(low, 0, record);
    if (lowest.length > keep) lowest.pop();
  }
  return pageFrom(lowest, limit);
}
