// The two formats of the file store: what a file's text holds, and the text for what it holds.
import { BackendError } from "../../errors.ts";
import { shortId } from "../../log.ts";
import { RECORD_FORMAT, readRecord, toStoredObject } from "../record.ts";
import type { SessionRecord } from "../types.ts";

/** A file as read: the records it holds, and what could not be read, kept as it was. */
export interface Contents {
  /** Records by namespace, then id. */
  records: Map<string, Map<string, SessionRecord>>;
  /** Entries this version cannot read, written back unchanged so no rewrite loses them. */
  kept: Kept[];
}

/** An entry this version cannot read. */
export interface Kept {
  namespace: string;
  id: string | undefined;
  /** The entry's text as found: its JSON, or a CSV row. */
  raw: string;
  error: Error;
}

/** How a format turns text into `Contents` and back. */
export interface Format {
  /** The contents of the file's text; throws when the file as a whole cannot be read. */
  parse(text: string, file: string): Contents;
  stringify(contents: Contents): string;
}

/** The records of `namespace` in `contents`, added (empty) when it has none. */
export function shelf(contents: Contents, namespace: string): Map<string, SessionRecord> {
  const records = contents.records.get(namespace) ?? new Map<string, SessionRecord>();
  contents.records.set(namespace, records);
  return records;
}

/** Adds the record `decode` reads from `raw`, or keeps `raw` as it is when it cannot be read. */
function accept(
  contents: Contents,
  namespace: string,
  id: string | undefined,
  raw: () => string,
  decode: () => SessionRecord,
): void {
  try {
    const record = decode();
    shelf(contents, namespace).set(record.id, record);
  } catch (error) {
    contents.kept.push({ namespace, id, raw: raw(), error: error as Error });
  }
}

/** Names an entry in messages: the file, the namespace and the start of the id. */
export function where(file: string, namespace: string, id: unknown): string {
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
        const text = () => jsonText(entry);
        accept(contents, ns, typeof id === "string" ? id : undefined, text, () =>
          readRecord(entry, where(file, ns, id)),
        );
      }
    }
    return contents;
  },
  stringify({ records, kept }) {
    // Each entry's text, then the file's around them: the text JSON.stringify would write.
    const namespaces = new Map<string, string[]>();
    const add = (ns: string, entry: string) => {
      const entries = namespaces.get(ns);
      entries ? entries.push(entry) : namespaces.set(ns, [entry]);
    };
    for (const [ns, shelf] of records)
      for (const record of shelf.values()) add(ns, JSON.stringify(toStoredObject(record)));
    for (const { namespace, raw } of kept) add(namespace, raw);
    // In the order of an object's keys (JSON.stringify's: integer-like names first).
    // Object.fromEntries defines "__proto__" as a key; an assignment would set the prototype.
    const byName = Object.fromEntries(namespaces);
    const members = Object.keys(byName).map(
      (ns) => `${JSON.stringify(ns)}:[${(byName[ns] as string[]).join(",")}]`,
    );
    return `{"namespaces":{${members.join(",")}}}`;
  },
};

/**
 * `JSON.stringify(value)` for a value `JSON.parse` returned, without recursion: an entry kept
 * unread may nest deeper (10,000 levels, planted by hand) than JSON.stringify's stack allows.
 */
function jsonText(value: unknown): string {
  let text = "";
  // What is left to write, last first: values, and the punctuation between them (as Literal).
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const next = todo.pop();
    if (next instanceof Literal) text += next.text;
    else if (typeof next !== "object" || next === null) text += JSON.stringify(next);
    else {
      const array = Array.isArray(next);
      const keys = Object.keys(next);
      const parts: unknown[] = [new Literal(array ? "[" : "{")];
      keys.forEach((key, i) => {
        const name = array ? "" : `${JSON.stringify(key)}:`;
        parts.push(
          new Literal(`${i > 0 ? "," : ""}${name}`),
          (next as Record<string, unknown>)[key],
        );
      });
      parts.push(new Literal(array ? "]" : "}"));
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]);
    }
  }
  return text;
}

/** Text `jsonText` writes as it is. */
class Literal {
  constructor(readonly text: string) {}
}

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
  "maxAge",
] as const;
// The maxAge column is written only when a session has one: a file without capped sessions keeps
// the header of the versions before it, which can still read it. Both are read.
const HEADER = COLUMNS.slice(0, -1).join(",");
const WIDE_HEADER = COLUMNS.join(",");

const csv: Format = {
  parse(text, file) {
    const contents: Contents = { records: new Map(), kept: [] };
    if (text === "") return contents;
    const [header, ...rows] = csvRows(text, file);
    const found = header?.fields.join(",");
    if (found !== HEADER && found !== WIDE_HEADER) {
      throw unreadableFile(file, `its first row is not the header ${HEADER}`);
    }
    const width = header?.fields.length ?? 0;
    for (const { fields, raw } of rows) {
      if (raw === "") continue; // a blank line
      const [ns = "", id] = fields;
      accept(
        contents,
        ns,
        id,
        () => raw,
        () => fromRow(fields, width, where(file, ns, id)),
      );
    }
    return contents;
  },
  stringify({ records, kept }) {
    let wide = false;
    for (const shelf of records.values())
      for (const record of shelf.values()) wide ||= record.maxAge !== undefined;
    const lines: string[] = [wide ? WIDE_HEADER : HEADER];
    for (const [ns, shelf] of records)
      for (const record of shelf.values()) lines.push(toRow(ns, record, wide));
    for (const { raw } of kept) lines.push(raw);
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

function toRow(namespace: string, record: SessionRecord, wide: boolean): string {
  const { id, data, createdAt, updatedAt, expiresAt, ttl, version, encrypted, maxAge } = record;
  const fields = [
    namespace,
    id,
    JSON.stringify(data ?? null),
    createdAt,
    updatedAt,
    expiresAt,
    ttl,
  ];
  const tail = [version, encrypted ? "true" : "", RECORD_FORMAT, ...(wide ? [maxAge ?? ""] : [])];
  return [...fields, ...tail].map(csvField).join(",");
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The record in a row of a file whose header has `width` columns. */
function fromRow(fields: string[], width: number, at: string): SessionRecord {
  if (fields.length !== width) {
    throw new BackendError(
      `skipped the stored record ${at}: it has ${fields.length} fields, not ${width}`,
    );
  }
  const [, id, text, createdAt, updatedAt, expiresAt, ttl, version, encrypted, v, maxAge] = fields;
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
      // Empty (or absent, in a file without the column): no cap.
      ...(maxAge && { maxAge: Number(maxAge) }),
    },
    at,
  );
}

export const formats: Record<"json" | "csv", Format> = { json, csv };
