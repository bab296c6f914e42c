// The Memcached store's indexes: an item per set of records (the namespace's own, each owner's)
// that lists their ids, and the registry of a namespace's owners, all updated with CAS. Updates of
// one index from one connection are batched, so that many writers at once cost a few CAS rounds,
// not one each; an update that would make an item larger than the server stores is refused
// before it is sent (memcached drops the item a too-large write would have replaced).
import { BackendError } from "../../errors.ts";
import { ADD, type Connection, type Got, SET, type Space } from "./protocol.ts";

/** How many times an index update is tried against other writers before it gives up. */
const ATTEMPTS = 50;
const INDEX_FORMAT = 1;

/** The ids an index lists (none without one). */
export async function readIndex(c: Connection, space: Space): Promise<string[]> {
  return parse(await c.gets(space.index), "ids", "index");
}

function parse(got: Got | undefined, field: "ids" | "owners", what: string): string[] {
  if (!got) return [];
  let parsed: { v?: unknown; ids?: unknown; owners?: unknown };
  try {
    parsed = JSON.parse(got.value);
  } catch (cause) {
    throw new BackendError(`memcached ${what} is not JSON`, { cause });
  }
  const list = parsed[field];
  if (parsed.v !== INDEX_FORMAT || !Array.isArray(list)) {
    throw new BackendError(
      `memcached ${what} is of format ${JSON.stringify(parsed.v)}, this version reads ${INDEX_FORMAT}`,
    );
  }
  return list as string[];
}

/** The JSON of an item listing `items`, and its size in bytes. */
function serialize(field: "ids" | "owners", items: Iterable<string>) {
  const value = JSON.stringify({ v: INDEX_FORMAT, [field]: [...items] });
  return { value, bytes: Buffer.byteLength(value) };
}

/** What one entry adds to a list's JSON: itself quoted, and a comma. */
const cost = (item: string) => Buffer.byteLength(JSON.stringify(item)) + 1;

const tooLarge = (what: string) =>
  new BackendError(
    `memcached ${what} would be over the server's item size limit (1 MB unless memcached runs ` +
      "with -I, given as the store's itemSize): the write is refused, and nothing else changed",
  );

interface Job {
  /** An id to list: its record is written. */
  readonly add?: string;
  /** Ids to drop from the list if their record is gone (checked on each attempt). */
  readonly prune?: readonly string[];
  resolve(): void;
  reject(error: Error): void;
}

/** The index updates of one connection: `add` and `prune`, batched per index. */
export interface Indexer {
  /**
   * Lists `id` in the space's index; rejects (with BackendError) when the index would grow past
   * the item size limit or kept changing, and then lists nothing of it. The index is written even
   * when it lists `id` already, so that a concurrent `prune` that saw the record missing fails its
   * CAS and looks again.
   */
  add(space: Space, id: string): Promise<void>;
  /**
   * Drops the `ids` whose record is gone, checked again on every attempt: a record written again
   * meanwhile stays listed (its writer lists it after writing it, and so after this check, or
   * makes this CAS fail).
   */
  prune(space: Space, ids: readonly string[]): Promise<void>;
}

export function indexer(c: Connection): Indexer {
  const queues = new Map<string, Job[]>();
  const enqueue = (space: Space, job: Omit<Job, "resolve" | "reject">) =>
    new Promise<void>((resolve, reject) => {
      const entry: Job = { ...job, resolve, reject };
      const queued = queues.get(space.index);
      if (queued) {
        queued.push(entry);
        return;
      }
      const queue = [entry];
      queues.set(space.index, queue);
      void (async () => {
        while (queue.length > 0) await apply(c, space, queue.splice(0));
        queues.delete(space.index);
      })();
    });
  return {
    add: (space, id) => enqueue(space, { add: id }),
    prune: (space, ids) => (ids.length === 0 ? Promise.resolve() : enqueue(space, { prune: ids })),
  };
}

/** Applies `jobs` to the index in one CAS write, tried again while other writers come between. */
async function apply(c: Connection, space: Space, jobs: Job[]): Promise<void> {
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const got = await c.gets(space.index);
      const ids = new Set(parse(got, "ids", "index"));
      const listed = [...new Set(jobs.flatMap((job) => job.prune ?? []))].filter((id) =>
        ids.has(id),
      );
      const alive = await Promise.all(listed.map((id) => c.gets(space.key(id))));
      const gone = listed.filter((_, i) => !alive[i]);
      for (const id of gone) ids.delete(id);
      let { bytes } = serialize("ids", ids);
      const refused = new Set<Job>();
      for (const job of jobs) {
        if (job.add === undefined || ids.has(job.add)) continue;
        if (c.fits(space.index, bytes + cost(job.add))) {
          ids.add(job.add);
          bytes += cost(job.add);
        } else refused.add(job);
      }
      const writes = jobs.some((job) => job.add !== undefined && !refused.has(job));
      if (writes || gone.length > 0) {
        const { value } = serialize("ids", ids);
        if (!(await c.store(got ? SET : ADD, space.index, value, 0, got?.cas))) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
          continue;
        }
      }
      for (const job of jobs) {
        if (refused.has(job)) job.reject(tooLarge("index of ids"));
        else job.resolve();
      }
      return;
    }
    throw new BackendError(`memcached index kept changing under ${ATTEMPTS} attempts`);
  } catch (error) {
    for (const job of jobs) job.reject(error as Error);
  }
}

/** The owners listed in the namespace's registry. */
export async function readOwners(c: Connection): Promise<string[]> {
  const gots = await Promise.all(c.registries.map((key) => c.gets(key)));
  return gots.flatMap((got) => parse(got, "owners", "registry of owners"));
}

/**
 * Lists `owner` in the namespace's registry (before its first write), so that the root's `clear`
 * and `purgeExpired` find its records. Owners stay listed: an owner's index may be written again
 * at any time, and forgetting it safely would need both items in one atomic step.
 */
export async function register(c: Connection, owner: string): Promise<void> {
  const key = c.registry(owner);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const got = await c.gets(key);
    const owners = parse(got, "owners", "registry of owners");
    if (owners.includes(owner)) return;
    owners.push(owner);
    const { value, bytes } = serialize("owners", owners);
    if (!c.fits(key, bytes)) throw tooLarge("registry of owners");
    if (await c.store(got ? SET : ADD, key, value, 0, got?.cas)) return;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
  }
  throw new BackendError(`memcached registry of owners kept changing under ${ATTEMPTS} attempts`);
}
