// The Memcached store's index: the one item per namespace that lists its ids, updated with CAS.
import { BackendError } from "../../errors.ts";
import { ADD, type Connection, type Got, SET } from "./protocol.ts";

/** How many times an index update is tried against other writers before it gives up. */
const ATTEMPTS = 50;
const INDEX_FORMAT = 1;

/** The ids the namespace's index lists (none without an index). */
export async function readIndex(c: Connection): Promise<string[]> {
  return parseIndex(await c.gets(c.indexKey));
}

function parseIndex(got: Got | undefined): string[] {
  if (!got) return [];
  let parsed: { v?: unknown; ids?: unknown };
  try {
    parsed = JSON.parse(got.value);
  } catch (cause) {
    throw new BackendError("memcached index is not JSON", { cause });
  }
  if (parsed.v !== INDEX_FORMAT || !Array.isArray(parsed.ids)) {
    throw new BackendError(
      `memcached index is of format ${JSON.stringify(parsed.v)}, this version reads ${INDEX_FORMAT}`,
    );
  }
  return parsed.ids as string[];
}

/** Adds `id` to the index. */
export function index(c: Connection, id: string): Promise<void> {
  return updateIndex(c, async (ids) => {
    if (ids.has(id)) return false;
    ids.add(id);
    return true;
  });
}

/**
 * Removes the `ids` whose record is gone, checked again on every attempt: a record written again
 * meanwhile stays listed (its writer adds it to the index after writing it, and so after this check).
 */
export function unindex(c: Connection, ids: string[]): Promise<void> {
  return updateIndex(c, async (present) => {
    const listed = ids.filter((id) => present.has(id));
    const alive = await Promise.all(listed.map(async (id) => c.gets(await c.key(id))));
    const gone = listed.filter((_, i) => !alive[i]);
    for (const id of gone) present.delete(id);
    return gone.length > 0;
  });
}

/**
 * Applies `change` to the index (it returns whether it changed anything) with CAS: a writer that
 * came between the read and the write makes it read and apply again, with a little random wait.
 */
async function updateIndex(c: Connection, change: (ids: Set<string>) => Promise<boolean>) {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const got = await c.gets(c.indexKey);
    const ids = new Set(parseIndex(got));
    if (!(await change(ids))) return;
    const value = JSON.stringify({ v: INDEX_FORMAT, ids: [...ids] });
    if (await c.store(got ? SET : ADD, c.indexKey, value, 0, got?.cas)) return;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
  }
  throw new BackendError(`memcached index kept changing under ${ATTEMPTS} attempts`);
}
