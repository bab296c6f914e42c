import { MAX_DATA_DEPTH } from "../constants.ts";
import { deepFreeze } from "../data.ts";
import { BackendError } from "../errors.ts";
import type { SessionRecord } from "./types.ts";

/**
 * The format of records as text (web storage, files). Bumped when the shape changes; a record
 * of another format, written by a newer or older version of this SDK, is skipped with an error
 * and left where it is, never deleted or overwritten.
 */
export const RECORD_FORMAT = 1;

/** A record as stored text: `{"v":1,"id":…}`. */
export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(toStoredObject(record));
}

/**
 * The record in `text`, frozen as the manager's own are, or `BackendError` saying why it
 * cannot be read (not JSON, another format, a field missing); `where` names it in the message.
 */
export function decodeRecord(text: string, where: string): SessionRecord {
  let parsed: unknown;
  try {
    // Not frozen here: readRecord makes a new frozen record and freezes its data.
    parsed = JSON.parse(text);
  } catch (cause) {
    throw unreadable(where, "it is not JSON", cause);
  }
  return readRecord(parsed, where);
}

/** A record as an object (`{ v: 1, id, … }`), for stores that keep objects (IndexedDB). */
export function toStoredObject(record: SessionRecord): StoredObject {
  const { id, data, createdAt, updatedAt, expiresAt, ttl, version, maxAge, encrypted } = record;
  // `v` first, `version` after `data` and only numbers or `true` after it: the Redis scripts
  // read the format and the version from the text (stores/redis/scripts.ts).
  const stored: Mutable<StoredObject> = {
    v: RECORD_FORMAT,
    id,
    data,
    createdAt,
    updatedAt,
    expiresAt,
    ttl,
    version,
  };
  if (maxAge !== undefined) stored.maxAge = maxAge;
  if (encrypted === true) stored.encrypted = encrypted;
  return stored;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A new object of `r`'s fields with `data`, its optional ones (`maxAge`: optional within format
 * 1, a record without it has no cap; `encrypted`) only when set. Assigned, not spread: spreading
 * a record into a new object and freezing it took ~2 µs, most of a read's cost after the parse.
 */
export function copyRecord(r: SessionRecord, data: unknown): Mutable<SessionRecord> {
  const { id, createdAt, updatedAt, expiresAt, ttl, version, maxAge, encrypted } = r;
  const copy: Mutable<SessionRecord> = { id, data, createdAt, updatedAt, expiresAt, ttl, version };
  if (maxAge !== undefined) copy.maxAge = maxAge;
  if (encrypted === true) copy.encrypted = encrypted;
  return copy;
}

/** What `toStoredObject` makes: a record with its format version. */
export type StoredObject = SessionRecord & { v: number };

/**
 * The record in a stored object (from `JSON.parse` or a structured clone), checked and frozen
 * deeply, or `BackendError` saying why it cannot be read.
 */
export function readRecord(stored: unknown, where: string): SessionRecord {
  const r = stored as Partial<StoredObject>;
  if (typeof r !== "object" || r === null) throw unreadable(where, "it is not a record");
  if (r.v !== RECORD_FORMAT) {
    throw unreadable(
      where,
      `its format is ${JSON.stringify(r.v)}, this version reads ${RECORD_FORMAT}`,
    );
  }
  const numbers = [r.createdAt, r.updatedAt, r.expiresAt, r.ttl, r.version];
  if (typeof r.id !== "string" || !("data" in r) || !numbers.every(Number.isFinite)) {
    throw unreadable(where, "a field is missing or of the wrong type");
  }
  const { maxAge } = r;
  if (maxAge !== undefined && !(Number.isFinite(maxAge) && (maxAge as number) > 0)) {
    throw unreadable(where, `its maxAge is ${JSON.stringify(maxAge)}, not a positive number`);
  }
  let data: unknown;
  try {
    data = deepFreeze(r.data);
  } catch (cause) {
    // Deeper than MAX_DATA_DEPTH: written behind this SDK's back (it never writes such data).
    throw unreadable(where, `its data nests deeper than ${MAX_DATA_DEPTH} levels`, cause);
  }
  return Object.freeze(copyRecord(r as SessionRecord, data));
}

/** Freezes `value` and everything in it, as the manager's own data is (lives in data.ts). */
export { deepFreeze };

function unreadable(where: string, why: string, cause?: unknown): BackendError {
  return new BackendError(`skipped the stored record ${where}: ${why}`, { cause });
}
