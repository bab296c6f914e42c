/// <reference types="node" />
// A Node-only file: the tsconfig loads no Node types (`types: []`), so it names them itself.

import { randomUUID } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { type FileHandle, mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DEFAULT_NAMESPACE } from "../../constants.ts";
import { BackendError } from "../../errors.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "../types.ts";
import { type Contents, type Format, formats, type Kept, where } from "./format.ts";

/** Options of the file store. */
export interface FileStoreOptions {
  /** The file. A missing file is an empty store; a missing directory is created on open. */
  path: string;
  /**
   * `"json"` (the default): `{"namespaces":{"<namespace>":[<record>, …]}}`. `"csv"`: a header row
   * and one row per record (RFC 4180), the data column holding JSON text.
   */
  format?: "json" | "csv";
  /** The file holds every namespace's records; a store reads and changes only its own. */
  namespace?: string;
}

/**
 * Sessions in one file, which holds the records of every namespace. A change writes a new file
 * beside it and renames it over the old, so the file is never half-written. Calls on the same
 * file are queued one at a time across every store of this process, so two managers on one file
 * never lose each other's writes; changes queued together share one write. The file is parsed
 * once and read again only when its identity (inode, size, times) changes, so a change made by
 * something else is noticed; separate processes are not coordinated (use the SQLite store for
 * that). The file is created readable by its owner only. A file that cannot be parsed is never
 * overwritten: calls reject until it is repaired.
 * @example
 * new SessionManager({ backend: fileStore({ path: "data/sessions.json", namespace: "myapp" }) })
 */
export function fileStore(options: FileStoreOptions): SessionStore {
  const { format: name = "json", namespace = DEFAULT_NAMESPACE } = options;
  if (!Object.hasOwn(formats, name)) {
    throw new BackendError(`file format must be "json" or "csv", got ${JSON.stringify(name)}`);
  }
  const format = formats[name];
  let path = resolve(options.path);
  let attached = false;
  const reported = new Set<string>();
  let seen: readonly Kept[] = [];
  let report: (error: Error) => void = () => {};

  /** Reports what this namespace could not read, once per entry. */
  const notice = (kept: readonly Kept[]) => {
    if (kept === seen) return;
    seen = kept;
    for (const { namespace: ns, raw, error } of kept) {
      const key = typeof raw === "string" ? raw : JSON.stringify(raw);
      if (ns !== namespace || reported.has(key)) continue;
      reported.add(key);
      report(error);
    }
  };
  /** Waits for the calls queued on the file, then lets its contents go if no store is left. */
  const detach = async () => {
    await enqueue(path, format, "wait", () => [undefined, false]);
    const slot = slotOf(path);
    if (attached) slot.stores--;
    attached = false;
    release(path, slot);
  };
  /** Runs `task` in the file's queue on this namespace's records as the file holds them now. */
  const view = <T>(task: (records: ReadonlyMap<string, SessionRecord>) => T) =>
    enqueue(path, format, "read", (contents) => {
      notice(contents.kept);
      return [task(contents.records.get(namespace) ?? EMPTY), false];
    });
  /** Like `view`, and writes the file back when `task` says it changed the records. */
  const change = <T>(
    task: (records: Map<string, SessionRecord>, kept: readonly Kept[]) => Change<T>,
  ) =>
    enqueue(path, format, "change", (contents) => {
      notice(contents.kept);
      return task(shelf(contents, namespace), contents.kept);
    });

  return {
    name: "file",
    async open(context: StoreContext) {
      report = (error) => context.report(error);
      path = await canonical(path);
      // The file's contents are kept for the stores attached to it, until the last one closes.
      if (!attached) slotOf(path).stores++;
      attached = true;
      await view(() => {}).catch(async (error: unknown) => {
        await detach();
        throw error;
      });
    },
    get: (id) => view((records) => records.get(id)),
    set: (record, condition) =>
      change((records, kept) => {
        const unreadable = kept.some((k) => k.namespace === namespace && k.id === record.id);
        if (unreadable && !condition) {
          throw new BackendError(
            `cannot overwrite the stored record ${where(path, namespace, record.id)}: this version cannot read it`,
          );
        }
        if (unreadable || (condition && !holds(records.get(record.id), condition))) {
          return [false, false];
        }
        records.set(record.id, record);
        return [true, true];
      }),
    delete: (id, condition) =>
      change((records) => {
        const current = records.get(id);
        if (!current || (condition && current.version !== condition.ifVersion))
          return [false, false];
        return [records.delete(id), true];
      }),
    list: () => view((records) => [...records.values()]),
    listPrefix: (prefix) =>
      view((records) => [...records.values()].filter((r) => r.id.startsWith(prefix))),
    clear: () =>
      change((records) => {
        const changed = records.size > 0;
        records.clear();
        return [undefined, changed];
      }),
    purgeExpired: (now) =>
      change((records) => {
        const removed = [...records.values()].filter((r) => r.expiresAt <= now);
        for (const record of removed) records.delete(record.id);
        return [removed, removed.length > 0];
      }),
    // Resolves once this process's queued calls on the file are done.
    close: () => detach(),
  };
}

/** What a change returns, and whether it changed the records (then the file is written). */
type Change<T> = readonly [result: T, changed: boolean];

const EMPTY: ReadonlyMap<string, SessionRecord> = new Map();

/** The contents of a file as this process last read or wrote it. */
interface Snapshot {
  format: Format;
  /** What `identify` says of the file holding these contents; `undefined` when it cannot tell. */
  identity: string | undefined;
  contents: Contents;
}

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

function slotOf(file: string): Slot {
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

function release(file: string, slot: Slot): void {
  if (slot.stores <= 0 && !slot.draining && slots.get(file) === slot) slots.delete(file);
}

/** Queues `task` on `file`: a read or a change of its contents, or a wait for the calls before. */
function enqueue<T>(
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

function shelf(contents: Contents, namespace: string): Map<string, SessionRecord> {
  const records = contents.records.get(namespace) ?? new Map<string, SessionRecord>();
  contents.records.set(namespace, records);
  return records;
}

/** Says who the file at `file` is: inode, size and times, or that there is none. */
async function identify(file: string): Promise<string> {
  try {
    return identityOf(await stat(file, { bigint: true }));
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return MISSING;
    throw error;
  }
}

const MISSING = "missing";

function identityOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * A file's times tick coarsely (a few milliseconds on Linux, 2 s on FAT), so a file changed in
 * place again within the tick in which it was read keeps its identity. Contents read that soon
 * after the last change are not trusted: the next call reads the file again (git's "racy clean").
 */
const RACY_MS = 2000n;

/** The file's contents, with the identity they go with (a missing file is empty). */
async function load(file: string, format: Format): Promise<Snapshot> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
    return { format, identity: MISSING, contents: format.parse("", file) };
  }
  try {
    // The identity is taken first: were the file changed during the read, it is read again.
    const stats = await handle.stat({ bigint: true });
    // A byte order mark, as editors such as Excel write, is not content.
    const text = (await handle.readFile("utf8")).replace(/^\uFEFF/, "");
    // The change time, set by the system to its clock on every change (the modification time
    // can be set to anything).
    const settled = BigInt(Date.now()) - stats.ctimeMs > RACY_MS;
    return {
      format,
      identity: settled ? identityOf(stats) : undefined,
      contents: format.parse(text, file),
    };
  } finally {
    await handle.close();
  }
}

/** The real path of `file` (after creating its directory), so that every spelling of it shares one queue. */
async function canonical(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  const full = join(await realpath(dirname(file)), basename(file));
  // A link is followed: renaming over the link itself would replace it with a plain file.
  return realpath(full).catch(() => full);
}

/**
 * Writes `text` to a new file beside `file`, then renames it over `file`: all or nothing.
 * Returns the identity of the file it wrote, as it is after the rename.
 */
async function writeAtomically(file: string, text: string): Promise<string> {
  const temp = join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      // On disk before the rename, or a crash could leave the new name on empty data.
      await handle.datasync();
      await rename(temp, file);
      renamed = true;
      // Through the handle: the file now at `file` may already be another writer's.
      return identityOf(await handle.stat({ bigint: true }));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (!renamed) await rm(temp, { force: true });
    throw error;
  }
}

function holds(current: SessionRecord | undefined, condition: WriteCondition): boolean {
  return "ifAbsent" in condition ? current === undefined : current?.version === condition.ifVersion;
}
