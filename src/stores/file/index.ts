/// <reference types="node" />
// A Node-only file: the tsconfig loads no Node types (`types: []`), so it names them itself.
/**
 * The file store (Node): sessions in one JSON or CSV file, for one process.
 * @packageDocumentation
 */

import { resolve } from "node:path";
import { DEFAULT_NAMESPACE } from "../../constants.ts";
import { BackendError } from "../../errors.ts";
import { holds } from "../shared/condition.ts";
import { liveCount } from "../shared/count.ts";
import { partitionPrefix, prefixPartition } from "../shared/partition.ts";
import { reporter } from "../shared/report.ts";
import type { SessionRecord, SessionStore, StoreContext } from "../types.ts";
import { type Contents, formats, type Kept, shelf, where } from "./format.ts";
import { canonical } from "./io.ts";
import { hold, letGo } from "./lock.ts";
import { firstPage } from "./page.ts";
import { type Change, enqueue, release, slotOf } from "./queue.ts";

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
 * never lose each other's writes; changes queued together share one write. One process at a
 * time uses a file: opening takes a lock file beside it (`<path>.lock`, naming the process), and
 * another process's store fails with `BackendError` saying which process holds it (use the
 * SQLite store to share sessions between processes). The lock of a process that died is taken
 * over, and the temporary files of writes it never finished are removed. The file is parsed
 * once and read again only when its identity (inode, size, times) changes, so a change made by
 * something else is noticed. The file is created readable by its owner only. A file that cannot
 * be parsed is never overwritten: calls reject until it is repaired.
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
  const report = reporter();

  /** Reports what this namespace could not read, once per entry. */
  const notice = (kept: readonly Kept[]) => {
    if (kept === seen) return;
    seen = kept;
    for (const { namespace: ns, raw, error } of kept) {
      if (ns !== namespace || reported.has(raw)) continue;
      reported.add(raw);
      report(error);
    }
  };
  let attaching: Promise<void> | undefined;
  /** Takes the file's lock (shared by this process's stores on it) and keeps its contents. */
  const attach = () =>
    (attaching ??= (async () => {
      path = await canonical(path);
      await hold(path);
      // The file's contents are kept for the stores attached to it, until the last one closes.
      slotOf(path).stores++;
      attached = true;
    })().finally(() => {
      attaching = undefined;
    }));
  /** Waits for the calls queued on the file, then lets its contents and lock go if no store is left. */
  const detach = async () => {
    await enqueue(path, format, "wait", () => [undefined, false]);
    const slot = slotOf(path);
    const was = attached;
    if (attached) slot.stores--;
    attached = false;
    release(path, slot);
    if (was) await letGo(path);
  };
  /**
   * Queues `task` on the file; a store not attached (its open failed: another process holds the
   * file) tries to attach first, so that it never touches the file without the lock.
   */
  const queue = <T>(kind: "read" | "change", task: (contents: Contents) => Change<T>) =>
    attached
      ? enqueue(path, format, kind, task)
      : attach().then(() => enqueue(path, format, kind, task));
  /** Runs `task` in the file's queue on this namespace's records as the file holds them now. */
  const view = <T>(task: (records: ReadonlyMap<string, SessionRecord>) => T) =>
    queue("read", (contents) => {
      notice(contents.kept);
      return [task(contents.records.get(namespace) ?? EMPTY), false];
    });
  /** Like `view`, and writes the file back when `task` says it changed the records. */
  const change = <T>(
    task: (records: Map<string, SessionRecord>, kept: readonly Kept[]) => Change<T>,
  ) =>
    queue("change", (contents) => {
      notice(contents.kept);
      return task(shelf(contents, namespace), contents.kept);
    });

  const store: SessionStore = {
    name: "file",
    // One process at a time holds the file (its lock): a log kept in that process is complete.
    capabilities: { processLog: "complete" },
    async open(context: StoreContext) {
      report.to(context);
      if (!attached) await attach();
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
    listPage: (request) => view((records) => firstPage(records.values(), request)),
    count: (request) => view((records) => liveCount(records.values(), request)),
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
    // An owner's records stay under `partitionPrefix(owner)` in the namespace (the layout of
    // every store without partitions of its own); only `clear` differs: one write, where
    // deleting each record would rewrite the whole file once per few records.
    partition(owner) {
      const prefix = partitionPrefix(owner);
      const clear = () =>
        change((records) => {
          const removed: SessionRecord[] = [];
          for (const record of records.values()) {
            if (!record.id.startsWith(prefix)) continue;
            records.delete(record.id);
            removed.push(Object.freeze({ ...record, id: record.id.slice(prefix.length) }));
          }
          return [removed, removed.length > 0];
        });
      return { ...prefixPartition(store, owner), clear };
    },
    // Resolves once this process's queued calls on the file are done.
    close: () => detach(),
  };
  return store;
}

const EMPTY: ReadonlyMap<string, SessionRecord> = new Map();
