/// <reference types="node" />
// A Node-only file: the tsconfig loads no Node types (`types: []`), so it names them itself.
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, realpath, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BackendError } from "../errors.ts";
import { shortId } from "../log.ts";
import { RECORD_FORMAT, readRecord, toStoredObject } from "./record.ts";
import type { SessionRecord, SessionStore, StoreContext, WriteCondition } from "./types.ts";

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
 * Sessions in one file, which holds the records of every namespace. Each call reads the file,
 * and a change writes a new one beside it and renames it over the old, so the file is never
 * half-written. Calls on the same file are queued one at a time across every store of this
 * process, so two managers on one file never lose each other's writes; separate processes are
 * not coordinated (use the SQLite store for that). The file is created readable by its owner only.
 * A file that cannot be parsed is never overwritten: calls reject until it is repaired.
 * @example
 * new SessionManager({ backend: fileStore({ path: "data/sessions.json", namespace: "myapp" }) })
 */
export function fileStore(options: FileStoreOptions): SessionStore {
  const { format: name = "json", namespace = "sessionmanager" } = options;
  if (!Object.hasOwn(formats, name)) {
    throw new BackendError(`file format must be "json" or "csv", got ${JSON.stringify(name)}`);
  }
  const format = formats[name];
  let path = resolve(options.path);
  const reported = new Set<string>();
  let report: (error: Error) => void = () => {};

  /** The file's contents; what this namespace could not read is reported, once per entry. */
  const read = async (): Promise<Contents> => {
    const contents = format.parse(await readText(path), path);
    for (const { namespace: ns, raw, error } of contents.kept) {
      const key = typeof raw === "string" ? raw : JSON.stringify(raw);
      if (ns !== namespace || reported.has(key)) continue;
      reported.add(key);
      report(error);
    }
    return contents;
  };
  /** Runs `task` on this namespace's records in the file's queue. */
  const view = <T>(task: (records: Map<string, SessionRecord>) => T): Promise<T> =>
    exclusive(path, async () => task(shelf(await read(), namespace)));
  /** Like `view`, and writes the file back when `task` says it changed the records. */
  const change = <T>(
    task: (records: Map<string, SessionRecord>, contents: Contents) => Change<T>,
  ) =>
    exclusive(path, async () => {
      const contents = await read();
      const [result, changed] = task(shelf(contents, namespace), contents);
      if (changed) await writeAtomically(path, format.stringify(contents));
      return result;
    });

  return {
    name: "file",
    async open(context: StoreContext) {
      report = (error) => context.report(error);
      path = await canonical(path);
      await read();
    },
    get: (id) => view((records) => records.get(id)),
    set: (record, condition) =>
      change((records, contents) => {
        const unreadable = contents.kept.some(
          (k) => k.namespace === namespace && k.id === record.id,
        );
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
    // Resolves once this process's queued writes to the file are done.
    close: () => exclusive(path, async () => {}),
  };
}

/** What a change returns, and whether it changed the records (then the file is written). */
type Change<T> = readonly [result: T, changed: boolean];

/** A file as read: the records it holds, and what could not be read, kept as it was. */
interface Contents {
  /** Records by namespace, then id. */
  records: Map<string, Map<string, SessionRecord>>;
  /** Entries this version cannot read, written back unchanged so no rewrite loses them. */
  kept: Kept[];
}

interface Kept {
  namespace: string;
  id: string | undefined;
  /** The entry as found: a parsed JSON value, or a CSV row's text. */
  raw: unknown;
  error: Error;
}

interface Format {
  /** The contents of the file's text; throws when the file as a whole cannot be read. */
  parse(text: string, file: string): Contents;
  stringify(contents: Contents): string;
}

/** Per file (its real path), the tail of the calls queued on it in this process. */
const queues = new Map<string, Promise<void>>();

/** Runs `task` once every call queued on `file` before it has finished. */
function exclusive<T>(file: string, task: () => Promise<T>): Promise<T> {
  const result = (queues.get(file) ?? Promise.resolve()).then(task);
  const tail = result.then(
    () => {},
    () => {},
  );
  queues.set(file, tail);
  void tail.then(() => queues.get(file) === tail && queues.delete(file));
  return result;
}

/** The real path of `file` (after creating its directory), so that every spelling of it shares one queue. */
async function canonical(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  const full = join(await realpath(dirname(file)), basename(file));
  // A link is followed: renaming over the link itself would replace it with a plain file.
  return realpath(full).catch(() => full);
}

async function readText(file: string): Promise<string> {
  try {
    // A byte order mark, as editors such as Excel write, is not content.
    return (await readFile(file, "utf8")).replace(/^\uFEFF/, "");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "";
    throw error;
  }
}

/** Writes `text` to a new file beside `file`, then renames it over `file`: all or nothing. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      // On disk before the rename, or a crash could leave the new name on empty data.
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function shelf(contents: Contents, namespace: string): Map<string, SessionRecord> {
  const records = contents.records.get(namespace) ?? new Map<string, SessionRecord>();
  contents.records.set(namespace, records);
  return records;
}

function holds(current: SessionRecord | undefined, condition: WriteCondition): boolean {
  return "ifAbsent" in condition ? current === undefined : current?.version === condition.ifVersion;
}

/** Adds the record `decode` reads from `raw`, or keeps `raw` as it is when it cannot be read. */
function accept(
  contents: Contents,
  namespace: string,
  id: string | undefined,
  raw: unknown,
  decode: () => SessionRecord,
): void {
  try {
    const record = decode();
    shelf(contents, namespace).set(record.id, record);
  } catch (error) {
    contents.kept.push({ namespace, id, raw, error: error as Error });
  }
}

function where(file: string, namespace: string, id: unknown): string {
  return `${file} ${namespace}:${typeof id === "string" ? shortId(id) : "?"}`;
}

function unreadableFile(file: string, why: string, cause?: unknown): BackendError {
  return new BackendError(`cannot read the session file ${file}: ${why}; it was left as it is`, {
    cause,
  });
}

const json: Format = {
  parse(text, file) {
    const contents: Contents = { records: new Map(), kept: [] };
    if (text.trim() === "") return contents;
    let parsed: { namespaces?: unknown };
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw unreadableFile(file, "it is not JSON", cause);
    }
    const namespaces = parsed?.namespaces;
    if (typeof namespaces !== "object" || namespaces === null || Array.isArray(namespaces)) {
      throw unreadableFile(file, 'it is not a session file ({"namespaces":{…}})');
    }
    // Object.entries, not a for-in: a namespace may be called "__proto__".
    for (const [ns, entries] of Object.entries(namespaces)) {
      if (!Array.isArray(entries)) throw unreadableFile(file, `namespace ${ns} is not a list`);
      for (const entry of entries) {
        const id: unknown = entry?.id;
        accept(contents, ns, typeof id === "string" ? id : undefined, entry, () =>
          readRecord(entry, where(file, ns, id)),
        );
      }
    }
    return contents;
  },
  stringify({ records, kept }) {
    const namespaces = new Map<string, unknown[]>();
    const add = (ns: string, entry: unknown) => {
      const entries = namespaces.get(ns);
      entries ? entries.push(entry) : namespaces.set(ns, [entry]);
    };
    for (const [ns, shelf] of records)
      for (const record of shelf.values()) add(ns, toStoredObject(record));
    for (const { namespace, raw } of kept) add(namespace, raw);
    // Object.fromEntries defines "__proto__" as a key; an assignment would set the prototype.
    return JSON.stringify({ namespaces: Object.fromEntries(namespaces) });
  },
};

const COLUMNS = [
  "namespace",
  "id",
  "data",
  "createdAt",
  "updatedAt",
  "expiresAt",
  "ttl",
  "version",
  "encrypted",
  "format",
] as const;
const HEADER = COLUMNS.join(",");

const csv: Format = {
  parse(text, file) {
    const contents: Contents = { records: new Map(), kept: [] };
    if (text === "") return contents;
    const [header, ...rows] = csvRows(text, file);
    if (header?.fields.join(",") !== HEADER) {
      throw unreadableFile(file, `its first row is not the header ${HEADER}`);
    }
    for (const { fields, raw } of rows) {
      if (raw === "") continue; // a blank line
      const [ns = "", id] = fields;
      accept(contents, ns, id, raw, () => fromRow(fields, where(file, ns, id)));
    }
    return contents;
  },
  stringify({ records, kept }) {
    const lines: string[] = [HEADER];
    for (const [ns, shelf] of records)
      for (const record of shelf.values()) lines.push(toRow(ns, record));
    for (const { raw } of kept) lines.push(raw as string);
    return `${lines.join("\r\n")}\r\n`;
  },
};

// A quoted field (quotes doubled inside, written unrolled so that it never backtracks) or a
// bare one, then what ends it. Anything else (a quote inside a bare field, text after a closing
// quote, a quote never closed) is not CSV.
const FIELD = /(?:"([^"]*(?:""[^"]*)*)"|([^",\r\n]*))(,|\r\n|\n|\r|$)/y;

interface CsvRow {
  fields: string[];
  /** The row's text as found, without its line break. */
  raw: string;
}

/** The rows of `text` (RFC 4180, any line break), or `BackendError` if it is not CSV. */
function csvRows(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let start = 0;
  let at = 0;
  while (at < text.length) {
    FIELD.lastIndex = at;
    const match = FIELD.exec(text);
    if (!match) throw unreadableFile(file, `it is not CSV (at character ${at})`);
    const [, quoted, bare = "", end = ""] = match;
    fields.push(quoted === undefined ? bare : quoted.replaceAll('""', '"'));
    at = FIELD.lastIndex;
    if (end !== ",") {
      rows.push({ fields, raw: text.slice(start, at - end.length) });
      fields = [];
      start = at;
    }
  }
  // The text ended right after a comma: the row's last field is empty.
  if (fields.length > 0) rows.push({ fields: [...fields, ""], raw: text.slice(start) });
  return rows;
}

function toRow(namespace: string, record: SessionRecord): string {
  const { id, data, createdAt, updatedAt, expiresAt, ttl, version, encrypted } = record;
  const fields = [
    namespace,
    id,
    JSON.stringify(data ?? null),
    createdAt,
    updatedAt,
    expiresAt,
    ttl,
  ];
  return [...fields, version, encrypted ? "true" : "", RECORD_FORMAT].map(csvField).join(",");
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function fromRow(fields: string[], at: string): SessionRecord {
  if (fields.length !== COLUMNS.length) {
    throw new BackendError(
      `skipped the stored record ${at}: it has ${fields.length} fields, not ${COLUMNS.length}`,
    );
  }
  const [, id, text, createdAt, updatedAt, expiresAt, ttl, version, encrypted, v] = fields;
  let data: unknown;
  try {
    data = JSON.parse(text as string);
  } catch (cause) {
    throw new BackendError(`skipped the stored record ${at}: its data is not JSON`, { cause });
  }
  const number = (field: string | undefined) => (field ? Number(field) : Number.NaN);
  return readRecord(
    {
      v: number(v),
      id,
      data,
      createdAt: number(createdAt),
      updatedAt: number(updatedAt),
      expiresAt: number(expiresAt),
      ttl: number(ttl),
      version: number(version),
      encrypted: encrypted === "true",
    },
    at,
  );
}

const formats: Record<"json" | "csv", Format> = { json, csv };
