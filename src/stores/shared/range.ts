// Prefix ranges and pages: which ids start with a prefix, and one page of them in id order.
import type { ListRequest, Page, SessionRecord } from "../types.ts";

/**
 * The least string above every string that starts with `prefix`, in code point order (UTF-8
 * byte order: SQLite's and PostgreSQL `COLLATE "C"`'s), so that `id >= prefix AND id < end` is
 * a range on an index where LIKE would need `%` and `_` escaped. `undefined` when there is none
 * (every code point of `prefix` is U+10FFFF): then `id >= prefix` alone.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) {
      // Surrogates are not code points of their own: step over them.
      return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
    }
  }
  return undefined;
}

/**
 * One page of `records` (any order, any ids) as `listPage` answers it, in code unit order of
 * ids: for stores that hold their records in memory, and for stores without `listPage`.
 */
export function pageOf(records: Iterable<SessionRecord>, request: ListRequest): Page {
  const { prefix = "", cursor, limit } = request;
  const found: SessionRecord[] = [];
  for (const record of records) {
    const { id } = record;
    if (id.startsWith(prefix) && (cursor === undefined || id > cursor)) found.push(record);
  }
  found.sort((a, b) => (a.id < b.id ? -1 : 1));
  return pageFrom(found, limit);
}

/**
 * The page of `sorted` (records in the store's order, after the cursor; one more than `limit`
 * tells that more follow): at most `limit` of them, `next` the last one's id when more follow.
 */
export function pageFrom(sorted: SessionRecord[], limit: number): Page {
  if (sorted.length <= limit) return { records: sorted };
  const records = sorted.slice(0, limit);
  return { records, next: (records[limit - 1] as SessionRecord).id };
}

/**
 * One page of the ids of an index (any order) as `listPage` answers it, in code unit order:
 * only the page's records are read, with `read` (which may find fewer: records gone).
 */
export async function pageOfIds(
  ids: string[],
  request: ListRequest,
  read: (ids: string[]) => Promise<SessionRecord[]>,
): Promise<Page> {
  const { prefix = "", cursor, limit } = request;
  const after = ids
    .filter((id) => id.startsWith(prefix) && (cursor === undefined || id > cursor))
    .sort();
  const page = after.slice(0, limit);
  const records = await read(page);
  // From the last id asked for, not the last record found: the store may have expired it.
  return after.length > limit ? { records, next: page[limit - 1] as string } : { records };
}
